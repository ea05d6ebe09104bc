"""Copy a transfer package (ZIP or directory) into a work dir, streaming, with SHA-256 and limits.

Every entry is checked before any byte is written: names (`safe_paths`), links and devices,
duplicates, a single top-level folder, entry count, declared total size and compression ratio.
While streaming, the bytes actually produced are counted again, so a lying header cannot get
past the limits. Each file's SHA-256 and size are computed on the way, once. A refusal found
while copying (an unreadable entry, a limit crossed) removes what this call copied, so a refused
package never leaves half a package in the work dir.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO

from archive_service.config import PackageLimits
from archive_service.packages.safe_paths import UnsafePathError, safe_relative_path
from ingest_rules.catalogue import finding
from ingest_rules.findings import Finding

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    """A regular file of the package as copied into the work dir."""

    path: str
    size: int
    sha256: str


@dataclass
class StagedPackage:
    """The package root inside the work dir and what was found while copying it."""

    package_id: str
    root: Path
    files: dict[str, StagedFile] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


@dataclass(frozen=True)
class _Entry:
    """One entry to copy: its clean path below the root and how to open it."""

    path: str
    declared_size: int
    open: Callable[[], IO[bytes]]


class _LimitExceededError(Exception):
    pass


# What reading a damaged or exotic entry raises: a corrupt stream (zlib, LZMA, bzip2 → OSError),
# a method or flag zipfile does not implement, a local header whose name is not valid UTF-8.
_UNREADABLE_ENTRY = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    NotImplementedError,
    UnicodeDecodeError,
)


def stage_package(source: Path, work_dir: Path, limits: PackageLimits) -> StagedPackage:
    """Copy `source` into `work_dir/<package id>/`; refusals are findings, never exceptions."""
    if source.is_dir() and not source.is_symlink():
        return _stage_directory(source, work_dir, limits)
    if not source.is_file():
        return _refused(source.name, "pkg.archive.unreadable", "không tìm thấy gói", "package not found")
    if source.name.casefold().endswith(".edxml"):
        return _refused(
            source.name,
            "pkg.archive.unreadable",
            "một tệp edXML không phải gói chuyển giao: hãy đặt nó vào representations/rep1/data/ của gói SIP, "
            "làm tệp của văn bản, kèm dữ liệu đặc tả hồ sơ và văn bản",
            "an edXML file is not a transfer package: put it in representations/rep1/data/ of a SIP as a "
            "document's file, with the dossier and document metadata",
        )
    return stage_zip(source, work_dir, limits)


def _refused(name: str, rule_id: str, vi: str, en: str) -> StagedPackage:
    package = StagedPackage(package_id=name, root=Path())
    package.findings.append(finding(rule_id, path=name, message_vi=vi, message_en=en))
    return package


def stage_zip(
    source: Path, work_dir: Path, limits: PackageLimits, *, wrap_in: str | None = None, label: str | None = None
) -> StagedPackage:
    """Stage a ZIP with every check; `wrap_in` names a folder to put loose entries under (ZIPs
    attached to an edXML message have no top-level folder of their own); findings about the
    whole archive name it `label` (default: the file name)."""
    name = label or source.name
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return _refused(
            name,
            "pkg.archive.unreadable",
            f"Tệp không phải ZIP đọc được ({exc})",
            f"The file is not a readable ZIP ({exc})",
        )
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            return _refused(
                name,
                "pkg.archive.too_large",
                f"Gói có {len(infos)} mục, vượt giới hạn {limits.max_entries}",
                f"The package has {len(infos)} entries, above the limit of {limits.max_entries}",
            )
        findings: list[Finding] = []
        entries: list[_Entry] = []
        seen: set[str] = set()
        for info in infos:
            entry = _zip_entry(archive, info, seen, findings)
            if entry is not None:
                entries.append(replace(entry, path=f"{wrap_in}/{entry.path}") if wrap_in else entry)
        declared = sum(i.file_size for i in infos)
        compressed = max(sum(i.compress_size for i in infos), 1)
        findings.extend(_size_findings(name, declared, compressed, limits))
        return _copy_entries(name, entries, work_dir, limits, compressed, findings)


def _zip_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, seen: set[str], findings: list[Finding]
) -> _Entry | None:
    """Check one ZIP entry; return it if it is a regular file to copy."""
    try:
        path = safe_relative_path(info.filename)
    except UnsafePathError as exc:
        findings.append(_unsafe(info.filename, exc.reason_vi, exc.reason_en))
        return None
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode) or (stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR)):
        findings.append(_unsafe(path, "là liên kết hoặc tệp thiết bị", "is a link or a device"))
        return None
    if path in seen:
        findings.append(_duplicate(path))
        return None
    seen.add(path)
    if info.is_dir():
        return None
    if info.flag_bits & 0x1:
        findings.append(
            finding(
                "pkg.archive.unreadable",
                path=path,
                message_vi="Mục trong ZIP được mã hóa",
                message_en="The ZIP entry is encrypted",
            )
        )
        return None
    return _Entry(path=path, declared_size=info.file_size, open=lambda: archive.open(info))


def _stage_directory(source: Path, work_dir: Path, limits: PackageLimits) -> StagedPackage:
    findings: list[Finding] = []
    entries: list[_Entry] = []
    top = unicodedata.normalize("NFC", source.name)
    seen: set[str] = set()
    total = 0
    for rel, full, entry_stat in _walk(source, findings):
        if rel in seen:
            findings.append(_duplicate(f"{top}/{rel}"))
            continue
        seen.add(rel)
        if len(entries) >= limits.max_entries:
            return _refused(
                top,
                "pkg.archive.too_large",
                f"Gói có hơn {limits.max_entries} mục",
                f"The package has more than {limits.max_entries} entries",
            )
        total += entry_stat.st_size
        entries.append(
            _Entry(path=f"{top}/{rel}", declared_size=entry_stat.st_size, open=partial(_open_no_follow, full))
        )
    findings.extend(_size_findings(top, total, max(total, 1), limits))
    return _copy_entries(top, entries, work_dir, limits, None, findings)


def _walk(root: Path, findings: list[Finding], prefix: str = "") -> Iterator[tuple[str, Path, os.stat_result]]:
    """Regular files below `root`: clean relative (NFC) name, path on disk (as the sender spelled
    it, NFD included), stat; links and devices become findings."""
    with os.scandir(root) as it:
        for item in sorted(it, key=lambda e: e.name):
            name = f"{prefix}{item.name}"
            try:
                clean = safe_relative_path(name)
            except UnsafePathError as exc:
                findings.append(_unsafe(name, exc.reason_vi, exc.reason_en))
                continue
            info = item.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                yield from _walk(Path(item.path), findings, f"{clean}/")
            elif stat.S_ISREG(info.st_mode):
                yield clean, Path(item.path), info
            else:
                findings.append(_unsafe(clean, "là liên kết hoặc tệp thiết bị", "is a link or a device"))


def _open_no_follow(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    return os.fdopen(fd, "rb")


def _size_findings(name: str, declared: int, compressed: int, limits: PackageLimits) -> list[Finding]:
    if declared > limits.max_total_bytes:
        return [_too_large(name, declared, limits)]
    ratio = declared / compressed
    if ratio > limits.max_compression_ratio:
        return [_bad_ratio(name, ratio, limits)]
    return []


def _too_large(name: str, size: int, limits: PackageLimits) -> Finding:
    return finding(
        "pkg.archive.too_large",
        path=name,
        message_vi=f"Dung lượng giải nén {size} byte vượt giới hạn {limits.max_total_bytes} byte",
        message_en=f"Uncompressed size {size} bytes exceeds the limit of {limits.max_total_bytes} bytes",
    )


def _bad_ratio(name: str, ratio: float, limits: PackageLimits) -> Finding:
    return finding(
        "pkg.archive.too_large",
        path=name,
        message_vi=f"Tỷ lệ nén {ratio:.0f}:1 vượt giới hạn {limits.max_compression_ratio:.0f}:1",
        message_en=f"Compression ratio {ratio:.0f}:1 exceeds the limit of {limits.max_compression_ratio:.0f}:1",
    )


def _duplicate(path: str) -> Finding:
    """Two entries with one name once normalised (e.g. the same name in NFC and in NFD)."""
    return _unsafe(path, "tên mục bị trùng", "duplicate entry name")


def _unsafe(path: str, vi: str, en: str) -> Finding:
    return finding(
        "pkg.archive.unsafe_path",
        path=path,
        message_vi=f"Mục '{path}' không an toàn: {vi}",
        message_en=f"Entry '{path}' is unsafe: {en}",
    )


def _single_root(name: str, entries: list[_Entry]) -> tuple[str | None, list[Finding]]:
    tops = {e.path.split("/", 1)[0] for e in entries}
    loose = [e.path for e in entries if "/" not in e.path]
    if len(tops) == 1 and not loose:
        return tops.pop(), []
    listed = ", ".join(sorted(tops)[:5])
    return None, [
        finding(
            "pkg.layout.single_root",
            path=name,
            message_vi=f"Gói phải nằm dưới đúng một thư mục gốc; tìm thấy: {listed}",
            message_en=f"The package must sit under exactly one top-level folder; found: {listed}",
        )
    ]


def _copy_entries(
    name: str,
    entries: list[_Entry],
    work_dir: Path,
    limits: PackageLimits,
    compressed: int | None,
    findings: list[Finding],
) -> StagedPackage:
    """Copy the entries if nothing so far forbids it; count and hash every byte on the way."""
    root_name, root_findings = _single_root(name, entries) if entries else (None, [])
    findings.extend(root_findings)
    if not entries and not findings:
        findings.append(
            finding("pkg.layout.missing", path=name, message_vi="Gói rỗng", message_en="The package is empty")
        )
    package = StagedPackage(package_id=root_name or name, root=work_dir / (root_name or name))
    package.findings = findings
    if not package.ok or root_name is None:
        return package
    created = _first_missing(work_dir, package.root)
    _copy_all(name, entries, work_dir, limits, compressed, package)
    if not package.ok and created is not None:
        shutil.rmtree(created, ignore_errors=True)
    return package


def _first_missing(work_dir: Path, root: Path) -> Path | None:
    """The outermost of `work_dir` and `root` that does not exist yet: what a refusal removes."""
    return next((folder for folder in (work_dir, root) if not folder.exists()), None)


def _copy_all(
    name: str,
    entries: list[_Entry],
    work_dir: Path,
    limits: PackageLimits,
    compressed: int | None,
    package: StagedPackage,
) -> None:
    """Stream every entry into the work dir; what cannot be read or crosses a limit is a finding."""
    findings = package.findings
    written = 0
    for entry in entries:
        rel = entry.path.split("/", 1)[1]
        try:
            staged = _copy_one(entry, work_dir, rel, limits.max_total_bytes - written)
        except _LimitExceededError:
            findings.append(_too_large(name, written + entry.declared_size + 1, limits))
            return
        except _UNREADABLE_ENTRY as exc:
            findings.append(
                finding(
                    "pkg.archive.unreadable",
                    path=entry.path,
                    message_vi=f"Không đọc được mục '{entry.path}': {_reason(exc)}",
                    message_en=f"Cannot read entry '{entry.path}': {_reason(exc)}",
                )
            )
            continue
        written += staged.size
        if compressed is not None and written / compressed > limits.max_compression_ratio:
            findings.append(_bad_ratio(name, written / compressed, limits))
            return
        package.files[rel] = staged


def _reason(exc: Exception) -> str:
    """Why an entry could not be read or written, without the server's own paths."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _copy_one(entry: _Entry, work_dir: Path, rel: str, budget: int) -> StagedFile:
    """Stream one entry to `work_dir/<entry path>` (never overwriting), hashing it."""
    target = work_dir / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with entry.open() as src, os.fdopen(os.open(target, flags, 0o600), "wb") as dst:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > budget:
                raise _LimitExceededError
            digest.update(chunk)
            dst.write(chunk)
    return StagedFile(path=rel, size=size, sha256=digest.hexdigest())
