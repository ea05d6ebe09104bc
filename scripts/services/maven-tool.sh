#!/usr/bin/env bash
# Shared by the scripts that fetch a Java tool from Maven Central into the tool cache:
#   maven-tool.sh NAME VERSION POM VERSION_PROPERTY MAIN_JAR
# copies the runtime dependencies of POM (built with -DVERSION_PROPERTY=VERSION) into
# ~/.cache/archive-service/NAME/lib (or $ARCHIVE_TOOL_CACHE/NAME/lib), then checks MAIN_JAR is there.
# Idempotent: does nothing when that version is already there. Never writes into the repository.
set -euo pipefail
name=$1 version=$2 pom=$3 property=$4 main_jar=$5
CACHE="${ARCHIVE_TOOL_CACHE:-$HOME/.cache/archive-service}"
DEST="$CACHE/$name"
LIB="$DEST/lib"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$version" ] && [ -f "$LIB/$main_jar" ]; then
  echo "[$name] $version already in $LIB"
  exit 0
fi
command -v mvn >/dev/null || { echo "[$name] mvn (Maven) is required: apt-get install maven" >&2; exit 1; }
command -v java >/dev/null || { echo "[$name] java 17 is required: apt-get install openjdk-17-jre-headless" >&2; exit 1; }

start=$SECONDS
echo "[$name] fetching $main_jar from Maven Central into $LIB"
mkdir -p "$DEST"
staging="$(mktemp -d "$DEST/.lib.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mvn -B -q -Dstyle.color=never -f "$pom" "-D$property=$version" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
[ -f "$staging/$main_jar" ] || { echo "[$name] $main_jar missing" >&2; exit 1; }
rm -rf "$LIB" && mv "$staging" "$LIB"
echo "$version" > "$DEST/VERSION"
trap - EXIT
echo "[$name] $(ls "$LIB" | wc -l) jars in $LIB; took $((SECONDS - start)) s"
