"""What the local store promises beyond the contract: its on-disk layout and its failure modes."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from storage.errors import (
    ImmutableObject,
    IntegrityMismatch,
    StorageError,
    StorageUnavailable,
)
from storage.local import LocalObjectStore

KEY = "Phông-01/Hồ sơ 2024/Quyết định số 12.pdf"
DATA = "Quyết định về việc lưu trữ hồ sơ\n".encode() * 10


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store", "primary")


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_each_object_is_one_plain_read_only_file_with_a_sidecar(store: LocalObjectStore) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))

    stored = store.root / "Phông-01" / "Hồ sơ 2024" / "Quyết định số 12.pdf"
    assert stored.read_bytes() == DATA
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    record = store.root / ".fixity" / "Phông-01" / "Hồ sơ 2024" / "Quyết định số 12.pdf"
    assert record.read_text(encoding="utf-8") == f"# size {len(DATA)}\n{sha(DATA)}  {KEY}\n"
    assert stat.S_IMODE(record.stat().st_mode) == 0o444
    assert files_under(store.root) == sorted([".lock", f".fixity/{KEY}", KEY])


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs GNU sha256sum")
def test_fixity_records_can_be_checked_with_sha256sum(store: LocalObjectStore) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    store.put("b.txt", io.BytesIO(b"b"), sha(b"b"))
    records = sorted(str(p) for p in (store.root / ".fixity").rglob("*") if p.is_file())

    checked = subprocess.run(
        ["sha256sum", "--strict", "-c", *records], cwd=store.root, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    store.root.joinpath("b.txt").chmod(0o644)
    store.root.joinpath("b.txt").write_bytes(b"c")
    checked = subprocess.run(
        ["sha256sum", "-c", *records], cwd=store.root, capture_output=True, check=False
    )
    assert checked.returncode == 1
    assert b"b.txt: FAILED" in checked.stdout


def test_a_missing_root_is_unavailable_not_empty(store: LocalObjectStore) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist") as caught:
        store.exists(KEY)
    assert caught.value.retryable
    with pytest.raises(StorageUnavailable):
        store.iterate()

    store.health()  # a fresh machine: the health check creates the root

    assert not store.exists(KEY)
    assert list(store.iterate()) == []


def test_put_creates_a_missing_root(store: LocalObjectStore) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    assert store.hash_object(KEY) == sha(DATA)


def test_an_unusable_root_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_bytes(b"")
    store = LocalObjectStore(tmp_path / "not-a-folder", "replica")
    with pytest.raises(StorageUnavailable, match="'replica'"):
        store.health()
    with pytest.raises(StorageUnavailable):
        store.put(KEY, io.BytesIO(DATA), sha(DATA))


def test_a_missing_fixity_record_is_an_integrity_problem(store: LocalObjectStore) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    (store.root / ".fixity" / KEY).unlink()

    assert store.exists(KEY)
    with pytest.raises(IntegrityMismatch, match="record is missing"):
        store.stat(KEY)
    with pytest.raises(IntegrityMismatch, match="record is missing"):
        list(store.iterate())
    with pytest.raises(IntegrityMismatch):
        store.put(KEY, io.BytesIO(DATA), sha(DATA))
    assert store.hash_object(KEY) == sha(DATA)  # the bytes are still readable for the audit

    store.repair(KEY, io.BytesIO(DATA), sha(DATA))
    assert store.stat(KEY).sha256 == sha(DATA)


@pytest.mark.parametrize(
    "record",
    [
        "garbage",
        f"# size 1\n{'0' * 64}  another/key\n",  # a record of some other object
        f"# size -1\n{'0' * 64}  {KEY}\n",
    ],
)
def test_a_damaged_fixity_record_is_an_integrity_problem(
    store: LocalObjectStore, record: str
) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    path = store.root / ".fixity" / KEY
    path.chmod(0o644)
    path.write_text(record, encoding="utf-8")
    with pytest.raises(IntegrityMismatch, match="record is damaged"):
        store.stat(KEY)


def test_a_forged_fixity_record_is_caught_by_rehashing(store: LocalObjectStore) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    path = store.root / ".fixity" / KEY
    path.chmod(0o644)
    path.write_text(f"# size {len(DATA)}\n{'0' * 64}  {KEY}\n", encoding="utf-8")
    assert store.hash_object(KEY) != store.stat(KEY).sha256


def test_foreign_files_are_reported_not_skipped(store: LocalObjectStore) -> None:
    store.health()
    (store.root / "Quye\u0302\u0301t.pdf").write_bytes(b"dropped here by hand")  # NFD name
    with pytest.raises(IntegrityMismatch, match="not a valid key"):
        list(store.iterate())


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_only_plain_files_are_objects(store: LocalObjectStore, tmp_path: Path, kind: str) -> None:
    store.health()
    planted = store.root / "planted.pdf"
    if kind == "symlink":
        (tmp_path / "secret").write_bytes(b"outside the store")
        planted.symlink_to(tmp_path / "secret")
    else:
        os.mkfifo(planted)  # would block a naive reader forever
    assert store.exists("planted.pdf")
    for operation in (store.open, store.stat, store.hash_object):
        with pytest.raises(IntegrityMismatch, match="other than a plain file"):
            operation("planted.pdf")


def test_a_key_cannot_be_both_an_object_and_a_folder(store: LocalObjectStore) -> None:
    store.put("a/b", io.BytesIO(b"1"), sha(b"1"))
    before = files_under(store.root)
    with pytest.raises(StorageError, match="cannot hold this key"):
        store.put("a", io.BytesIO(b"2"), sha(b"2"))
    with pytest.raises(StorageError, match="cannot hold this key"):
        store.put("a/b/c", io.BytesIO(b"3"), sha(b"3"))
    assert files_under(store.root) == before
    assert not store.exists("a")
    assert [info.key for info in store.iterate()] == ["a/b"]


def test_the_callers_read_errors_pass_through_and_leave_nothing(store: LocalObjectStore) -> None:
    class Dropped(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() > 0:
                raise ConnectionResetError("client went away")
            return super().read(size)

    store.health()
    with pytest.raises(ConnectionResetError):
        store.put(KEY, Dropped(DATA), sha(DATA))
    assert files_under(store.root) == []


def test_a_full_disk_is_unavailable_and_leaves_nothing(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.health()
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageUnavailable, match="No space left"):
        store.put(KEY, io.BytesIO(DATA), sha(DATA))
    assert files_under(store.root) == []


def test_repair_refused_by_the_filesystem_is_immutable_object(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put(KEY, io.BytesIO(DATA), sha(DATA))
    target = store.root / KEY
    real_replace = Path.replace

    def immutable(self: Path, destination: Path) -> Path:  # what `chattr +i` does to a rename
        if Path(destination) == target:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return real_replace(self, destination)

    monkeypatch.setattr(Path, "replace", immutable)
    with pytest.raises(ImmutableObject, match="refuses to replace"):
        store.repair(KEY, io.BytesIO(DATA), sha(DATA))
    assert not [path for path in store.root.iterdir() if path.name.startswith(".tmp-")]
