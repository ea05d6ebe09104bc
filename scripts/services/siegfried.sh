#!/usr/bin/env bash
# siegfried (`sf`): PRONOM format identification for the identify step and PREMIS, built from source.
#
#   scripts/services/siegfried.sh install    build the pinned sf once (about 1.5 min cold on 2 busy cores)
#   scripts/services/siegfried.sh path       print the sf binary's path (exit 3 if absent)
#
# `-tags static` embeds the PRONOM signature file in the binary, so sf works offline and never
# needs `sf -update` (spec: services.md, reference/tech.md §5). v1.11.2 (2025-03-01, PRONOM v120)
# is the newest tag the Go module proxy serves here; v1.11.1 is the spec's pin and the fallback.
#
# Not `go install sf@VERSION`: that command also reads the module's version list to look for a
# deprecation notice, and the proxy refuses siegfried's list (403), so it fails although the tagged
# version itself is served. The same build is made from a throw-away module that requires the tag:
# `go mod tidy` resolves it and `go build -tags static` writes the binary. The module cache, build
# cache, build module and binary live under ~/.cache/archive-service/go (ARCHIVE_CACHE overrides
# ~/.cache/archive-service), never in the repository. Idempotent: with a working binary, does nothing.
set -euo pipefail

SF_REPO="github.com/richardlehane/siegfried"
SF_MODULE="$SF_REPO/cmd/sf"
SF_VERSIONS=(v1.11.2 v1.11.1)
CACHE="${ARCHIVE_CACHE:-$HOME/.cache/archive-service}"
export GOBIN="$CACHE/go/bin" GOPATH="$CACHE/go/path" GOCACHE="$CACHE/go/cache"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
BINARY="$GOBIN/sf"

installed() { [ -x "$BINARY" ] && "$BINARY" -version >/dev/null 2>&1; }

build_sf() {  # build_sf VERSION: go build sf at VERSION through a throw-away module
  local dir="$CACHE/go/siegfried-build"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module archive-service/siegfried-build\n\ngo 1.18\n\nrequire %s %s\n' "$SF_REPO" "$1" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$SF_MODULE" >"$dir/tools.go"
  (cd "$dir" && go mod tidy && go build -tags static -o "$BINARY" "$SF_MODULE")
}

install_sf() {
  if installed; then
    echo "[siegfried] installed: $BINARY ($("$BINARY" -version 2>/dev/null | head -n 1))"
    return
  fi
  command -v go >/dev/null || { echo "[siegfried] Go is required to build sf (go install)" >&2; exit 3; }
  mkdir -p "$GOBIN" "$GOPATH" "$GOCACHE"
  local start=$SECONDS version
  for version in "${SF_VERSIONS[@]}"; do
    if build_sf "$version"; then
      echo "[siegfried] built @$version in $((SECONDS - start)) s"
      break
    fi
    echo "[siegfried] could not build @$version" >&2
  done
  installed || { echo "[siegfried] the build produced no working $BINARY" >&2; exit 1; }
  echo "[siegfried] $("$BINARY" -version | head -n 1)"
}

case "${1:-install}" in
  install) install_sf ;;
  path) installed && echo "$BINARY" || exit 3 ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
