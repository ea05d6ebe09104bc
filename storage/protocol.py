"""The `ObjectStore` port: what the archive needs from a place that keeps bytes.

Every backend (local folder, S3/MinIO) implements exactly this and passes the same contract
tests (`tests/contract/test_object_store.py`). The rules that make a store fit for preservation:

* Fixity is computed by the store while streaming and checked before anything becomes visible:
  `put` and `repair` commit only bytes whose SHA-256 equals the caller's expectation.
* Objects are immutable. `put` of an existing key with the same SHA-256 is a no-op (a resumed
  pipeline step may store again); with a different SHA-256 it raises `IntegrityMismatch` and the
  stored object stays. `repair` is the only rewrite, used by `archive audit --repair` to put back
  verified bytes from a good copy.
* `stat` reports the SHA-256 recorded at commit time; `hash_object` recomputes it from the stored
  bytes. An audit compares the two (or the catalog's value) to find corruption.

No delete, deliberately. Preservation forbids deleting through the application (Circular
02/2019; quality.md "stored AIP objects are immutable ... no overwrite or delete through the
application"), and the pipeline never needs one: keys derive from content or stable ids, so a
resumed step re-puts the same object (a no-op) instead of cleaning up, and a failed `put` leaves
nothing behind. Lawful destruction after appraisal and recall are audited operator procedures
outside this port (removing files on the filesystem; a governance-mode bypass on MinIO). Leaving
the method out means no caller and no bug can reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """A committed object: its key, its size in bytes and its SHA-256 (64 lowercase hex digits)."""

    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    """A store of immutable objects under validated keys (see `storage.keys.validate_key`).

    Every method raises ValueError for an invalid key or SHA-256, `StorageUnavailable` when the
    backend cannot be reached, and otherwise only the `storage.errors` named in its docstring.
    """

    @property
    def name(self) -> str:
        """Which copy this is ("primary", "replica", ...), as shown in audit reports."""
        ...

    def put(
        self, key: str, stream: BinaryIO, expected_sha256: str, *, retain_until: datetime | None = None
    ) -> ObjectInfo:
        """Store the stream's bytes under `key`, in constant memory, if their SHA-256 is right.

        Raises `IntegrityMismatch` (and stores nothing) when the stream's SHA-256 differs, or when
        a different object already holds the key. Same key and same SHA-256: succeeds, changes
        nothing, and returns the stored object's info.

        `retain_until` asks a store with retention (object lock) to keep a newly written object
        locked until then; a store without retention ignores it (its objects are never deleted
        through the application anyway), and an object already stored keeps its retention.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the stored bytes for reading (a context manager). `ObjectNotFound` if absent."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """The size and SHA-256 recorded when the object was committed, without reading its bytes.

        `ObjectNotFound` if absent; `IntegrityMismatch` if the recorded fixity itself is damaged.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under `key` (they may still be corrupted: see `hash_object`)."""
        ...

    def iterate(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every committed object whose key starts with `prefix` (a plain string), sorted by key.

        Raises `IntegrityMismatch` on reaching an object the store can no longer describe (its
        recorded fixity is damaged, or something foreign was placed in the store) rather than
        silently skipping it.
        """
        ...

    def hash_object(self, key: str) -> str:
        """Recompute the SHA-256 of the stored bytes by streaming them (fixity audits).

        `ObjectNotFound` if absent.
        """
        ...

    def repair(
        self, key: str, stream: BinaryIO, expected_sha256: str, *, retain_until: datetime | None = None
    ) -> ObjectInfo:
        """Atomically put back verified bytes (and their fixity) for a damaged or missing object.

        The only rewrite the store allows. The stream is verified against `expected_sha256` (from
        the catalog, the source of truth) before anything is replaced; on a mismatch it raises
        `IntegrityMismatch` and leaves the stored object as it was. `ImmutableObject` if the
        backend itself refuses the rewrite. `retain_until` as for `put`.
        """
        ...

    def health(self) -> None:
        """Return if the store is usable for reads and writes; raise `StorageUnavailable` if not."""
        ...


@dataclass(frozen=True, slots=True)
class LockState:
    """The object lock of an object's current version: mode ("GOVERNANCE", "COMPLIANCE" or
    None), the end of its retention (None if it has none) and whether a legal hold is on."""

    mode: str | None
    retain_until: datetime | None
    legal_hold: bool


@runtime_checkable
class LockingStore(Protocol):
    """What a store with object lock adds: legal holds (decision 0012). Optional: callers check
    `isinstance(store, LockingStore)`; the local store has no such thing."""

    def lock_state(self, key: str) -> LockState:
        """The lock of the key's current version. `ObjectNotFound` if absent;
        `OperationNotSupported` if the store keeps no locks."""
        ...

    def set_legal_hold(self, key: str, on: bool) -> int:
        """Place (`on`) or lift a legal hold on every stored version of `key`; return how many
        versions changed. `ObjectNotFound` if absent; `OperationNotSupported` without locks."""
        ...


@runtime_checkable
class UploadCleaningStore(Protocol):
    """A store where an interrupted write can leave debris that only the store can remove."""

    def discard_incomplete(self, key: str) -> int:
        """Abort every unfinished upload of `key` (never a committed object); return how many
        were aborted. Call it only while no other writer of `key` is running."""
        ...
