#!/usr/bin/env bash
# Fetches the veraPDF CLI (org.verapdf.apps:greenfield-apps) from Maven Central into the tool cache:
#   ~/.cache/archive-service/verapdf/lib/*.jar   (or $ARCHIVE_TOOL_CACHE/verapdf/lib)
# Idempotent: does nothing when that version is already there. Never writes into the repository.
# Run it:  java -Dfile.encoding=UTF8 -XX:+IgnoreUnrecognizedVMOptions -cp "$LIB/*" \
#            org.verapdf.apps.GreenfieldCliWrapper --flavour 2b --format json FILE...
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${ARCHIVE_TOOL_CACHE:-$HOME/.cache/archive-service}"
VERSION="${VERAPDF_VERSION:-1.28.2}"
DEST="$CACHE/verapdf"
LIB="$DEST/lib"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] \
   && [ -f "$LIB/greenfield-apps-$VERSION.jar" ]; then
  echo "[verapdf] $VERSION already in $LIB"
  exit 0
fi
command -v mvn >/dev/null || { echo "[verapdf] mvn (Maven) is required: apt-get install maven" >&2; exit 1; }
command -v java >/dev/null || { echo "[verapdf] java 17 is required: apt-get install openjdk-17-jre-headless" >&2; exit 1; }

start=$SECONDS
echo "[verapdf] fetching greenfield-apps $VERSION from Maven Central into $LIB"
mkdir -p "$DEST"
staging="$(mktemp -d "$DEST/.lib.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mvn -B -q -Dstyle.color=never -f "$HERE/verapdf-pom.xml" -Dverapdf.version="$VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
[ -f "$staging/greenfield-apps-$VERSION.jar" ] || { echo "[verapdf] greenfield-apps-$VERSION.jar missing" >&2; exit 1; }
rm -rf "$LIB" && mv "$staging" "$LIB"
echo "$VERSION" > "$DEST/VERSION"
trap - EXIT
echo "[verapdf] $(ls "$LIB" | wc -l) jars in $LIB; took $((SECONDS - start)) s"
