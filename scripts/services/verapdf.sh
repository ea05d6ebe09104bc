#!/usr/bin/env bash
# Fetches the veraPDF CLI (org.verapdf.apps:greenfield-apps) from Maven Central into the tool cache:
#   ~/.cache/archive-service/verapdf/lib/*.jar   (or $ARCHIVE_TOOL_CACHE/verapdf/lib)
# Idempotent (see maven-tool.sh). Run it:
#   java -Dfile.encoding=UTF8 -XX:+IgnoreUnrecognizedVMOptions -cp "$LIB/*" \
#     org.verapdf.apps.GreenfieldCliWrapper --flavour 2b --format json FILE...
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION="${VERAPDF_VERSION:-1.28.2}"
exec bash "$HERE/maven-tool.sh" verapdf "$VERSION" "$HERE/verapdf-pom.xml" verapdf.version \
  "greenfield-apps-$VERSION.jar"
