#!/usr/bin/env bash
# Fetches the E-ARK validator commons-ip2 (org.roda-community:commons-ip2) from Maven Central into the tool cache:
#   ~/.cache/archive-service/commons-ip2/lib/*.jar   (or $ARCHIVE_TOOL_CACHE/commons-ip2/lib)
# Idempotent (see maven-tool.sh). Run it:
#   java -cp "$LIB/*" org.roda_project.commons_ip2.cli.Main validate -i PACKAGE -o REPORT_DIR
# Central serves 2.10.0 only (2.11.x is on GitHub Packages, which needs a login). See docs/decisions/0009.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION="${COMMONS_IP2_VERSION:-2.10.0}"
exec bash "$HERE/maven-tool.sh" commons-ip2 "$VERSION" "$HERE/commons-ip2-pom.xml" commons-ip2.version \
  "commons-ip2-$VERSION.jar"
