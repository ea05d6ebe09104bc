"""The ObjectStore contract: every backend must pass all of it (see conftest.BACKENDS)."""

from __future__ import annotations

import hashlib
import io
import threading
import tracemalloc
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from storage.errors import IntegrityMismatch, ObjectNotFound
from storage.protocol import ObjectInfo, ObjectStore
from tests.contract.conftest import Backend

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

KEYS = [
    "Phông-01/Hồ sơ 2024/Quyết định số 12.pdf",
    "Phông-01/Hồ sơ 2024/Công văn đến.xml",
    "Phông-01/Hồ sơ 2024-bổ sung/Tờ trình.pdf",
    "aip/0d3c9a/METS.xml",
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(store: ObjectStore, key: str, data: bytes) -> ObjectInfo:
    return store.put(key, io.BytesIO(data), sha(data))


def read(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as stored:
        return stored.read()


def content(key: str) -> bytes:
    return f"nội dung của {key}\n".encode() * 100


def test_keys_under_test_are_nfc() -> None:
    assert all(unicodedata.is_normalized("NFC", key) for key in KEYS)


def test_round_trip(store: ObjectStore) -> None:
    infos = [put(store, key, content(key)) for key in KEYS]

    for key, info in zip(KEYS, infos, strict=True):
        assert info == ObjectInfo(key, len(content(key)), sha(content(key)))
        assert store.exists(key)
        assert store.stat(key) == info
        assert read(store, key) == content(key)
        assert store.hash_object(key) == info.sha256
    assert list(store.iterate()) == sorted(infos, key=lambda info: info.key)
    store.health()


def test_iterate_is_in_key_order_and_filters_by_string_prefix(store: ObjectStore) -> None:
    keys = ["a/b", "a0", "a-c/x", "a.b", "ab/c", *KEYS]
    for key in keys:
        put(store, key, content(key))

    assert [info.key for info in store.iterate()] == sorted(keys)
    assert [info.key for info in store.iterate("a")] == sorted(k for k in keys if k[0] == "a")
    assert [info.key for info in store.iterate("Phông-01/Hồ sơ 2024")] == sorted(KEYS[:3])
    assert [info.key for info in store.iterate("Phông-01/Hồ sơ 2024/")] == sorted(KEYS[:2])
    assert [info.key for info in store.iterate("Phông-01/Hồ sơ 2024/Quyết")] == [KEYS[0]]
    assert list(store.iterate("missing/")) == []
    with pytest.raises(ValueError, match="segment"):
        store.iterate("../")


def test_unknown_key_is_not_found(store: ObjectStore) -> None:
    key = KEYS[0]
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound) as caught:
        store.stat(key)
    assert caught.value.key == key
    with pytest.raises(ObjectNotFound):
        store.open(key)
    with pytest.raises(ObjectNotFound):
        store.hash_object(key)


def test_wrong_expected_hash_leaves_nothing(store: ObjectStore, backend: Backend) -> None:
    put(store, KEYS[1], content(KEYS[1]))
    before = backend.raw_state()
    data = content(KEYS[0])

    with pytest.raises(IntegrityMismatch) as caught:
        store.put(KEYS[0], io.BytesIO(data), sha(b"other bytes"))

    assert (caught.value.key, caught.value.found) == (KEYS[0], sha(data))
    assert caught.value.expected == sha(b"other bytes")
    assert backend.raw_state() == before  # not even a temp file
    assert not store.exists(KEYS[0])
    assert [info.key for info in store.iterate()] == [KEYS[1]]


def test_same_bytes_again_is_a_no_op(store: ObjectStore, backend: Backend) -> None:
    first = put(store, KEYS[0], content(KEYS[0]))
    before = backend.raw_state()

    assert put(store, KEYS[0], content(KEYS[0])) == first
    assert store.put(KEYS[0], io.BytesIO(content(KEYS[0])), first.sha256.upper()) == first

    assert backend.raw_state() == before


def test_different_bytes_under_a_stored_key_are_refused(
    store: ObjectStore, backend: Backend
) -> None:
    original = put(store, KEYS[0], content(KEYS[0]))
    before = backend.raw_state()

    with pytest.raises(IntegrityMismatch) as caught:
        put(store, KEYS[0], b"other bytes")
    assert (caught.value.expected, caught.value.found) == (sha(b"other bytes"), original.sha256)
    # the caller claims the stored hash but sends other bytes: refused too
    with pytest.raises(IntegrityMismatch):
        store.put(KEYS[0], io.BytesIO(b"other bytes"), original.sha256)

    assert backend.raw_state() == before
    assert read(store, KEYS[0]) == content(KEYS[0])
    assert store.stat(KEYS[0]) == original


def test_racing_writers_of_one_key_commit_exactly_one(store: ObjectStore) -> None:
    writers = 8
    start = threading.Barrier(writers)
    won: list[bytes] = []
    refused: list[bytes] = []

    def write(data: bytes) -> None:
        start.wait()
        try:
            put(store, KEYS[0], data)
            won.append(data)
        except IntegrityMismatch:
            refused.append(data)

    threads = [
        threading.Thread(target=write, args=(f"v{i}".encode() * 50_000,)) for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    assert len(refused) == writers - 1
    assert read(store, KEYS[0]) == won[0]
    assert store.stat(KEYS[0]).sha256 == store.hash_object(KEYS[0]) == sha(won[0])


def test_committed_objects_are_protected(store: ObjectStore, backend: Backend) -> None:
    put(store, KEYS[0], content(KEYS[0]))
    assert backend.is_protected(KEYS[0])


class PatternStream(io.RawIOBase):
    """`size` bytes of a cheap pattern, produced on demand: never more than one read in memory."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._block = bytes(range(256)) * 4096  # 1 MiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._left, len(self._block))
        view[:count] = self._block[:count]
        self._left -= count
        return count


@pytest.mark.slow
def test_large_object_streams_in_constant_memory(store: ObjectStore) -> None:
    size = 300 * 1024 * 1024
    digest = hashlib.sha256()
    for _ in range(size // (1024 * 1024)):
        digest.update(bytes(range(256)) * 4096)
    expected = digest.hexdigest()

    tracemalloc.start()
    try:
        info = store.put("large/object.bin", io.BufferedReader(PatternStream(size)), expected)
        assert store.hash_object("large/object.bin") == expected
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info == ObjectInfo("large/object.bin", size, expected)
    assert peak < 20 * 1024 * 1024


def test_corruption_is_detected_and_repaired(store: ObjectStore, backend: Backend) -> None:
    data = content(KEYS[0])
    original = put(store, KEYS[0], data)
    backend.corrupt(KEYS[0])

    assert store.exists(KEYS[0])
    assert store.stat(KEYS[0]) == original  # the recorded fixity, not recomputed
    assert store.hash_object(KEYS[0]) != store.stat(KEYS[0]).sha256

    assert store.repair(KEYS[0], io.BytesIO(data), original.sha256) == original

    assert store.hash_object(KEYS[0]) == store.stat(KEYS[0]).sha256 == original.sha256
    assert read(store, KEYS[0]) == data
    assert backend.is_protected(KEYS[0])


def test_missing_object_is_reported_and_repaired(store: ObjectStore, backend: Backend) -> None:
    data = content(KEYS[0])
    original = put(store, KEYS[0], data)
    put(store, KEYS[1], content(KEYS[1]))
    backend.remove(KEYS[0])

    assert not store.exists(KEYS[0])
    for operation in (store.stat, store.open, store.hash_object):
        with pytest.raises(ObjectNotFound):
            operation(KEYS[0])
    assert [info.key for info in store.iterate()] == [KEYS[1]]

    assert store.repair(KEYS[0], io.BytesIO(data), original.sha256) == original

    assert store.stat(KEYS[0]) == original
    assert read(store, KEYS[0]) == data
    assert backend.is_protected(KEYS[0])
    assert [info.key for info in store.iterate()] == sorted(KEYS[:2])


def test_repair_never_stored_key_creates_it(store: ObjectStore, backend: Backend) -> None:
    data = content(KEYS[0])  # e.g. the replica never received it
    assert store.repair(KEYS[0], io.BytesIO(data), sha(data)) == ObjectInfo(
        KEYS[0], len(data), sha(data)
    )
    assert read(store, KEYS[0]) == data
    assert backend.is_protected(KEYS[0])


def test_repair_with_unverified_bytes_changes_nothing(store: ObjectStore, backend: Backend) -> None:
    original = put(store, KEYS[0], content(KEYS[0]))
    backend.corrupt(KEYS[0])
    before = backend.raw_state()
    damaged = store.hash_object(KEYS[0])

    with pytest.raises(IntegrityMismatch):
        store.repair(KEYS[0], io.BytesIO(b"not the original"), original.sha256)

    assert backend.raw_state() == before
    assert store.hash_object(KEYS[0]) == damaged


def test_crash_debris_is_not_an_object(store: ObjectStore, backend: Backend) -> None:
    put(store, KEYS[1], content(KEYS[1]))
    backend.leave_crash_debris(KEYS[0])

    assert not store.exists(KEYS[0])
    with pytest.raises(ObjectNotFound):
        store.stat(KEYS[0])
    assert [info.key for info in store.iterate()] == [KEYS[1]]

    # the resumed step stores the object normally
    info = put(store, KEYS[0], content(KEYS[0]))
    assert store.stat(KEYS[0]) == info
    assert [info.key for info in store.iterate()] == sorted(KEYS[:2])


INVALID_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "a/./b",
    "a//b",
    "a/",
    ".fixity/a",
    "a/.tmp-0123",
    "a\\b",
    "a\x00b",
    "a\nb",
    "Quye\u0302\u0301t.pdf",  # NFD
    "x" * 1025,
]


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_refused_by_every_operation(store: ObjectStore, key: str) -> None:
    data = b"data"
    operations: list[Callable[[], object]] = [
        lambda: store.put(key, io.BytesIO(data), sha(data)),
        lambda: store.repair(key, io.BytesIO(data), sha(data)),
        lambda: store.open(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.hash_object(key),
    ]
    for operation in operations:
        with pytest.raises(ValueError):
            operation()
    assert list(store.iterate()) == []


@pytest.mark.parametrize("expected", ["", "abc", "g" * 64, "a" * 63])
def test_malformed_expected_hash_is_refused(store: ObjectStore, expected: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.put(KEYS[0], io.BytesIO(b"data"), expected)
    with pytest.raises(ValueError, match="SHA-256"):
        store.repair(KEYS[0], io.BytesIO(b"data"), expected)
