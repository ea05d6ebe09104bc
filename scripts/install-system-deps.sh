#!/usr/bin/env bash
# Installs the Debian tools and the cached Ghostscript >= 10.03 the archive needs.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
CACHE="${ARCHIVE_TOOL_CACHE:-$HOME/.cache/archive-service}"
mkdir -p "$CACHE"

need=()
for pkg in libmagic1 tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng qpdf poppler-utils libreoffice-writer-nogui fonts-liberation2 fonts-dejavu-core fonts-noto-core mediainfo clamav clamav-daemon; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[install] apt-get install ${need[*]}"
  start=$SECONDS
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "[install] Debian packages took $((SECONDS - start)) s"
fi

# Ghostscript >= 10.03 from the ghostscript-bin wheel (Debian's 10.0.0 corrupts Vietnamese text).
if ! "$CACHE/gs/ghostscript_bin/bin/gs" --version >/dev/null 2>&1; then
  echo "[install] ghostscript-bin into $CACHE/gs"
  python3 -m pip install -q --no-deps --only-binary=:all: --python-version 3.13 \
    --target "$CACHE/gs" ghostscript-bin
fi
echo "[install] system tools ready"
