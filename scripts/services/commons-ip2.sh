#!/usr/bin/env bash
# Fetches the E-ARK validator commons-ip2 (org.roda-community:commons-ip2) from Maven Central into the tool cache:
#   ~/.cache/archive-service/commons-ip2/lib/*.jar   (or $ARCHIVE_TOOL_CACHE/commons-ip2/lib)
# Idempotent: does nothing when that version is already there. Never writes into the repository.
# Run it:  java -cp "$LIB/*" org.roda_project.commons_ip2.cli.Main validate -i PACKAGE -o REPORT_DIR
# Central serves 2.10.0 only (2.11.x is on GitHub Packages, which needs a login). See docs/decisions/0009.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${ARCHIVE_TOOL_CACHE:-$HOME/.cache/archive-service}"
VERSION="${COMMONS_IP2_VERSION:-2.10.0}"
DEST="$CACHE/commons-ip2"
LIB="$DEST/lib"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] \
   && [ -f "$LIB/commons-ip2-$VERSION.jar" ]; then
  echo "[commons-ip2] $VERSION already in $LIB"
  exit 0
fi
command -v mvn >/dev/null || { echo "[commons-ip2] mvn (Maven) is required: apt-get install maven" >&2; exit 1; }
command -v java >/dev/null || { echo "[commons-ip2] java 17 is required: apt-get install openjdk-17-jre-headless" >&2; exit 1; }

start=$SECONDS
echo "[commons-ip2] fetching commons-ip2 $VERSION from Maven Central into $LIB"
mkdir -p "$DEST"
staging="$(mktemp -d "$DEST/.lib.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mvn -B -q -Dstyle.color=never -f "$HERE/commons-ip2-pom.xml" -Dcommons-ip2.version="$VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
[ -f "$staging/commons-ip2-$VERSION.jar" ] || { echo "[commons-ip2] commons-ip2-$VERSION.jar missing" >&2; exit 1; }
rm -rf "$LIB" && mv "$staging" "$LIB"
echo "$VERSION" > "$DEST/VERSION"
trap - EXIT
echo "[commons-ip2] $(ls "$LIB" | wc -l) jars in $LIB; took $((SECONDS - start)) s"
