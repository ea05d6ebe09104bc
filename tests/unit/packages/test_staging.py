from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from archive_service.config import PackageLimits
from archive_service.packages.staging import stage_package

LIMITS = PackageLimits()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _rules(staged_findings: list) -> set[str]:  # type: ignore[type-arg]
    return {f.rule for f in staged_findings}


def _files_outside(work: Path, top: Path) -> list[Path]:
    return [p for p in top.rglob("*") if p.is_file() and work not in p.parents]


def test_zip_is_staged_with_hashes_and_sizes(tmp_path: Path) -> None:
    source = _zip(tmp_path / "p.zip", {"pkg/METS.xml": b"<m/>", "pkg/data/Quyết định.pdf": b"%PDF-1.7"})
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert staged.ok, staged.findings
    assert staged.package_id == "pkg"
    assert set(staged.files) == {"METS.xml", "data/Quyết định.pdf"}
    pdf = staged.files["data/Quyết định.pdf"]
    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.7").hexdigest()
    assert pdf.size == 8
    assert (tmp_path / "work/pkg/data/Quyết định.pdf").read_bytes() == b"%PDF-1.7"


def test_directory_is_staged(tmp_path: Path) -> None:
    (tmp_path / "pkg/data").mkdir(parents=True)
    (tmp_path / "pkg/data/a.pdf").write_bytes(b"abc")
    staged = stage_package(tmp_path / "pkg", tmp_path / "work", LIMITS)
    assert staged.ok
    assert staged.files["data/a.pdf"].sha256 == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize(
    "name", ["pkg/../../evil.txt", "/tmp/evil.txt", "../evil.txt", "C:/evil.txt", "pkg/..\\..\\evil.txt"]
)
def test_zip_slip_is_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    source = _zip(tmp_path / "p.zip", {"pkg/METS.xml": b"<m/>", name: b"owned"})
    work = tmp_path / "work"
    staged = stage_package(source, work, LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.unsafe_path"}
    assert not work.exists() or not any(work.rglob("*"))
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_entry_in_zip_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "p.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("pkg/METS.xml", b"<m/>")
        link = zipfile.ZipInfo("pkg/data/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.unsafe_path"}
    assert "liên kết" in staged.findings[0].message_vi


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "p.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("pkg/a.pdf", b"1")
        with pytest.warns(UserWarning):
            archive.writestr("pkg/a.pdf", b"2")
        # the same name in NFD is the same file once normalised
        archive.writestr("pkg/Quye\u0302\u0301t.pdf", b"3")
        archive.writestr("pkg/Quy\u1ebft.pdf", b"4")
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert [f.rule for f in staged.findings] == ["pkg.archive.unsafe_path"] * 2


def test_links_and_fifos_in_a_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg/data").mkdir(parents=True)
    (tmp_path / "pkg/data/passwd").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "pkg/data/pipe")
    staged = stage_package(tmp_path / "pkg", tmp_path / "work", LIMITS)
    assert [f.rule for f in staged.findings] == ["pkg.archive.unsafe_path"] * 2
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("entries", [{"a/x": b"1", "b/y": b"2"}, {"pkg/x": b"1", "loose.txt": b"2"}])
def test_entries_must_share_one_root(tmp_path: Path, entries: dict[str, bytes]) -> None:
    staged = stage_package(_zip(tmp_path / "p.zip", entries), tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.layout.single_root"}


def test_too_many_entries(tmp_path: Path) -> None:
    source = _zip(tmp_path / "p.zip", {f"pkg/{i}.txt": b"x" for i in range(30)})
    staged = stage_package(source, tmp_path / "work", PackageLimits(max_entries=20))
    assert _rules(staged.findings) == {"pkg.archive.too_large"}


def test_total_size_limit(tmp_path: Path) -> None:
    source = _zip(tmp_path / "p.zip", {"pkg/a.bin": os.urandom(5000)})
    staged = stage_package(source, tmp_path / "work", PackageLimits(max_total_bytes=4000))
    assert _rules(staged.findings) == {"pkg.archive.too_large"}


def test_compression_ratio_limit(tmp_path: Path) -> None:
    source = _zip(tmp_path / "p.zip", {"pkg/zeros.bin": bytes(2_000_000)})
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.too_large"}
    assert "Tỷ lệ nén" in staged.findings[0].message_vi


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04truncated"])
def test_unreadable_archives(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "p.zip"
    source.write_bytes(content)
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.unreadable"}


def test_corrupted_entry_is_unreadable_and_named(tmp_path: Path) -> None:
    source = tmp_path / "p.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/a.txt", b"A" * 1000)
    data = bytearray(source.read_bytes())
    data[data.index(b"AAAA") + 10] = ord("B")
    source.write_bytes(bytes(data))
    staged = stage_package(source, tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.unreadable"}
    assert staged.findings[0].path == "pkg/a.txt"


def test_missing_source(tmp_path: Path) -> None:
    staged = stage_package(tmp_path / "nothing.zip", tmp_path / "work", LIMITS)
    assert _rules(staged.findings) == {"pkg.archive.unreadable"}
