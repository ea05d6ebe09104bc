"""PRONOM identification with siegfried (`sf`): one run over every file of a package.

siegfried is built by `scripts/services/siegfried.sh` with its signature file embedded (PRONOM
DROID signatures plus container signatures), so it works offline. The probe runs `sf -json` once
per package (in argument chunks for very large packages) and maps each file to its PUID, format
name and version, with the basis of the match and the exact tool, version and signature files for
PREMIS. When sf is not installed the caller falls back to libmagic and the PUID table of
`tools.identify` (docs/decisions/0016-file-probes.md says why not fido).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive_service.config import ToolSettings
from archive_service.errors import MissingDependencyError

INSTALL_COMMAND = "bash scripts/services/siegfried.sh install"
TOOL = "siegfried"
UNKNOWN_PUID = "UNKNOWN"
_ARGV_BUDGET = 128 * 1024  # bytes of file names per sf run, well under the kernel's ARG_MAX
_SECONDS_PER_FILE = 30.0
_START_SECONDS = 60.0


@dataclass(frozen=True)
class PronomMatch:
    """What siegfried says one file is. `puid` is "" when no signature matched."""

    puid: str
    format_name: str
    format_version: str
    mimetypes: tuple[str, ...]
    basis: str
    warning: str

    @property
    def by_content(self) -> bool:
        """Identified from the bytes (a signature or container match), not from the name alone."""
        return bool(self.puid) and "extension only" not in self.warning and "filename only" not in self.warning


@dataclass(frozen=True)
class PronomReport:
    """siegfried's answers for a set of files, with the tool and signature set that gave them."""

    tool_version: str
    signatures: str
    matches: dict[Path, PronomMatch]

    @property
    def agent(self) -> str:
        """The PREMIS agent: tool, version and signature files, e.g. "siegfried 1.11.2 (DROID…V120.xml; …)"."""
        return f"{TOOL} {self.tool_version} ({self.signatures})" if self.signatures else f"{TOOL} {self.tool_version}"

    def get(self, path: Path) -> PronomMatch | None:
        return self.matches.get(path)


def siegfried_binary(tools: ToolSettings) -> Path | None:
    """The `sf` to run: the configured one (which must exist), the one `siegfried.sh` built into
    the cache, or PATH's; None when there is none."""
    if tools.siegfried is not None:
        if not tools.siegfried.is_file():
            raise MissingDependencyError(
                f"Không có siegfried tại {tools.siegfried} (ARCHIVE_TOOLS__SIEGFRIED); cài bằng: {INSTALL_COMMAND}",
                f"No siegfried at {tools.siegfried} (ARCHIVE_TOOLS__SIEGFRIED); install it with: {INSTALL_COMMAND}",
            )
        return tools.siegfried
    cached = tools.cache_dir / "go" / "bin" / "sf"
    on_path = shutil.which("sf")
    return cached if cached.is_file() else Path(on_path) if on_path else None


def identify_pronom(paths: Sequence[Path], tools: ToolSettings) -> PronomReport | None:
    """PRONOM matches of `paths` (absolute) in one sf run; None when siegfried is not installed."""
    binary = siegfried_binary(tools)
    if binary is None:
        return None
    matches: dict[Path, PronomMatch] = {}
    version, signatures = "", ""
    for chunk in _chunks(paths):
        report = _run(binary, chunk)
        version = str(report.get("siegfried", ""))
        signatures = "; ".join(str(i.get("details", "")) for i in report.get("identifiers", []) if i.get("details"))
        by_name = {str(p): p for p in chunk}
        for entry in report.get("files", []):
            path = by_name.get(str(entry.get("filename", "")))
            if path is not None:
                matches[path] = _match(entry)
    return PronomReport(tool_version=version, signatures=signatures, matches=matches)


def _run(binary: Path, paths: Sequence[Path]) -> dict[str, Any]:
    """One `sf -json` run; `-coe` keeps going past a file it cannot read (reported per file)."""
    command = [str(binary), "-json", "-nr", "-coe", *(str(p) for p in paths)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            check=False,
            timeout=_START_SECONDS + _SECONDS_PER_FILE * len(paths),
        )
        report = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise MissingDependencyError(
            f"siegfried ({binary}) không chạy được: {exc}; cài lại bằng: {INSTALL_COMMAND}",
            f"siegfried ({binary}) could not run: {exc}; reinstall it with: {INSTALL_COMMAND}",
        ) from exc
    if not isinstance(report, dict):
        raise MissingDependencyError(
            f"siegfried ({binary}) trả về kết quả không đọc được",
            f"siegfried ({binary}) returned output that cannot be read",
        )
    return report


def _match(entry: dict[str, Any]) -> PronomMatch:
    """The PRONOM match of one `files[]` entry (sf gives one per identifier; ours has PRONOM only)."""
    found = next((m for m in entry.get("matches", []) if m.get("ns") == "pronom"), None)
    if found is None or found.get("id") in (None, "", UNKNOWN_PUID):
        warning = str(found.get("warning", "")) if found else str(entry.get("errors", ""))
        return PronomMatch("", "", "", (), "", warning)
    mimetypes = tuple(m.strip() for m in str(found.get("mime", "")).split(",") if m.strip())
    return PronomMatch(
        puid=str(found["id"]),
        format_name=str(found.get("format", "")),
        format_version=str(found.get("version", "")),
        mimetypes=mimetypes,
        basis=str(found.get("basis", "")),
        warning=str(found.get("warning", "")),
    )


def _chunks(paths: Sequence[Path]) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    size = 0
    for path in paths:
        length = len(str(path).encode()) + 1
        if chunk and size + length > _ARGV_BUDGET:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += length
    if chunk:
        yield chunk
