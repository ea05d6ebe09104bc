"""Find the project's Ghostscript and refuse any version that corrupts Vietnamese text.

Debian's Ghostscript 10.0.0 (and every release before 10.03) drops Vietnamese characters from the
text layer when it writes PDF/A (`Quyết định` → `Quy t nh`), so the archive never looks on PATH:
it uses the configured binary or the one `scripts/install-system-deps.sh` puts in the tool cache.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

from archive_service.errors import MissingDependencyError

MINIMUM_VERSION = (10, 3, 0)
INSTALL_COMMAND = "bash scripts/install-system-deps.sh"

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def _cached_candidates(cache_dir: Path) -> tuple[Path, ...]:
    """Where the install script leaves Ghostscript, best first.

    The ghostscript-bin wheel installed with `pip --target` holds the real binary in
    `ghostscript_bin/bin/gs`; its `bin/gs` is a Python entry point that only runs when the package
    is importable by the interpreter in its shebang, so it comes second.
    """
    root = cache_dir / "gs"
    return (root / "ghostscript_bin" / "bin" / "gs", root / "bin" / "gs")


def find_ghostscript(configured: Path | None, cache_dir: Path) -> Path:
    """The configured Ghostscript, else the cached one, checked to be ≥ 10.03; never one on PATH.

    Raises MissingDependencyError (with the install command) if none is found or it is too old.
    """
    if configured is not None:
        if not configured.is_file():
            raise _missing(
                f"Không tìm thấy Ghostscript tại {configured} (ARCHIVE_TOOLS__GHOSTSCRIPT)",
                f"Ghostscript not found at {configured} (ARCHIVE_TOOLS__GHOSTSCRIPT)",
            )
        check_ghostscript(configured)
        return configured
    for candidate in _cached_candidates(cache_dir):
        if candidate.is_file():
            check_ghostscript(candidate)
            return candidate
    raise _missing(
        f"Không tìm thấy Ghostscript ≥ 10.03 trong {cache_dir / 'gs'}",
        f"Ghostscript >= 10.03 not found in {cache_dir / 'gs'}",
    )


@lru_cache(maxsize=8)
def ghostscript_version(path: Path) -> tuple[int, int, int]:
    """The version `gs --version` reports, probed once per process and path.

    Raises MissingDependencyError if the program does not run or prints no version.
    """
    try:
        proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _missing(
            f"Không chạy được Ghostscript tại {path}: {exc}",
            f"Cannot run Ghostscript at {path}: {exc}",
        ) from exc
    printed = proc.stdout.strip()
    match = _VERSION.match(printed)
    if match is None:
        raise _missing(
            f"Ghostscript tại {path} không cho biết phiên bản (in ra {printed[:80]!r})",
            f"Ghostscript at {path} reported no version (it printed {printed[:80]!r})",
        )
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def check_ghostscript(path: Path) -> tuple[int, int, int]:
    """The version of the Ghostscript at `path`; MissingDependencyError if it is below 10.03."""
    version = ghostscript_version(path)
    if version < MINIMUM_VERSION:
        shown = ".".join(map(str, version))
        raise _missing(
            f"Ghostscript {shown} tại {path} quá cũ: cần ≥ 10.03 (bản 10.0–10.02 làm mất chữ tiếng Việt khi tạo PDF/A)",
            f"Ghostscript {shown} at {path} is too old: 10.03 or later is required (10.0–10.02 "
            "drop Vietnamese characters when writing PDF/A)",
        )
    return version


def _missing(reason_vi: str, reason_en: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{reason_vi}. Cài đặt bằng lệnh: {INSTALL_COMMAND}",
        f"{reason_en}. Install it with: {INSTALL_COMMAND}",
    )
