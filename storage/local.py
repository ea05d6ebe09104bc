"""The default object store: a folder on the local filesystem, usable with ordinary tools.

Layout under `root`:

* `<key>`: one plain file per object holding exactly its bytes, read-only (0o444), so operators
  can inspect, copy and back up the store with `ls`, `cp`, `rsync` or `tar`.
* `.fixity/<key>`: the object's fixity record, a `sha256sum`-compatible file
  (`# size N` then `<sha256>  <key>`), so `cd root && cat $(find .fixity -type f) | sha256sum -c`
  audits the store without the application. The record tree mirrors the object tree name for
  name, so it can never clash where the object tree does not.
* `.tmp-<random>`: files being written. Temp files sit at the root rather than next to their
  object: the rename is still within one filesystem (atomic), a refused or failed write leaves no
  empty folders behind, and crash debris is in one place.
* `.lock`: serialises commits between threads and processes (`flock`), so two writers racing on
  one key cannot both commit, nor leave a record that does not match the object.

Dot-names never clash with objects because keys cannot contain a segment starting with '.'.

Sidecar rather than extended attribute: xattrs are silently dropped by many ordinary copy and
backup tools (`cp` without `--preserve=xattr`, `rsync` without `-X`, `tar` without `--xattrs`,
some NFS and tmpfs mounts), so a restored backup would lose its fixity records; a sidecar file
survives any tool that copies files and can be checked with `sha256sum`.

Commit order (put and repair): stream into a temp file while hashing, flush, fsync, compare with
the expected SHA-256 (a mismatch removes the temp file and stops); then, under the lock, write
the record (temp, fsync, rename, fsync its folder) and only then rename the object into place and
fsync its folder. A crash at any point leaves either the old state, a stray temp file, or a
record without an object: none of them is listed or reported as an object, and the next `put`
of the key completes normally.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from storage.errors import (
    ImmutableObject,
    IntegrityMismatch,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from storage.fixity import CHUNK_SIZE, HashingReader, check_stream, normalise_sha256, same_or_refuse, sha256_stream
from storage.keys import MAX_KEY_BYTES, validate_key
from storage.protocol import ObjectInfo

_RECORDS = ".fixity"
_LOCK = ".lock"
_TEMP_PREFIX = ".tmp-"
_READ_ONLY = 0o444
_RECORD = re.compile(r"# size (?P<size>0|[1-9][0-9]*)\n(?P<sha256>[0-9a-f]{64})  (?P<key>[^\n]+)\n")
_MAX_RECORD_BYTES = MAX_KEY_BYTES + 128
# O_NONBLOCK: a FIFO placed at a key must not hang a reader (no effect on regular files).
_OPEN_FOR_READING = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a rename, a new subfolder) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    """An `ObjectStore` keeping each object as one plain read-only file under `root`."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root.absolute()
        self.name = name

    def __repr__(self) -> str:
        return f"LocalObjectStore(root={str(self.root)!r}, name={self.name!r})"

    # -- the protocol ------------------------------------------------------------------------

    def put(
        self, key: str, stream: BinaryIO, expected_sha256: str, *, retain_until: datetime | None = None
    ) -> ObjectInfo:
        """See `ObjectStore.put`. `retain_until` is ignored: the filesystem has no retention, and
        the store never deletes nor overwrites a committed object whatever the date (0012)."""
        key = validate_key(key)
        expected = normalise_sha256(expected_sha256)
        self._ensure_root()
        existing = self._existing(key)
        if existing is not None:
            # A resumed step storing again: verify the stream without writing anything.
            same_or_refuse(existing, expected)
            check_stream(key, expected, sha256_stream(stream)[0])
            return existing
        with self._staged(stream) as (temp, found, size):
            check_stream(key, expected, found)
            with self._commit_lock():
                existing = self._existing(key)
                if existing is not None:  # another writer committed it while we streamed
                    return same_or_refuse(existing, expected)
                self._install(key, temp, expected, size, repairing=False)
        return ObjectInfo(key, size, expected)

    def open(self, key: str) -> BinaryIO:
        key = validate_key(key)
        self._require_root()
        path = self._object_path(key)
        try:
            fd = os.open(path, _OPEN_FOR_READING)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._not_plain_file(key) from exc
            raise self._unavailable(f"cannot open {path}", exc, key) from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            if stat.S_ISDIR(mode):  # a folder of other keys, not an object
                raise ObjectNotFound(key)
            raise self._not_plain_file(key)
        return os.fdopen(fd, "rb")

    def stat(self, key: str) -> ObjectInfo:
        key = validate_key(key)
        self._require_root()
        info = self._existing(key)
        if info is None:
            raise ObjectNotFound(key)
        return info

    def exists(self, key: str) -> bool:
        key = validate_key(key)
        self._require_root()
        return self._lstat_mode(key) not in (None, stat.S_IFDIR)

    def iterate(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder = prefix.rpartition("/")[0]
        if folder:
            validate_key(folder)  # refuses '..' and the like before any path is built
        self._require_root()
        return self._walk(self.root.joinpath(*folder.split("/")), folder, prefix)

    def hash_object(self, key: str) -> str:
        with self.open(key) as stored:
            try:
                return sha256_stream(stored)[0]
            except OSError as exc:
                raise self._unavailable(f"cannot read {self._object_path(key)}", exc, key) from exc

    def repair(
        self, key: str, stream: BinaryIO, expected_sha256: str, *, retain_until: datetime | None = None
    ) -> ObjectInfo:
        """See `ObjectStore.repair`; `retain_until` is ignored, as in `put`."""
        key = validate_key(key)
        expected = normalise_sha256(expected_sha256)
        self._ensure_root()
        with self._staged(stream) as (temp, found, size):
            check_stream(key, expected, found)
            with self._commit_lock():
                self._install(key, temp, expected, size, repairing=True)
        return ObjectInfo(key, size, expected)

    def health(self) -> None:
        self._ensure_root()

    # -- paths and checks ----------------------------------------------------------------------

    def _object_path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def _record_path(self, key: str) -> Path:
        return self.root.joinpath(_RECORDS, *key.split("/"))

    def _unavailable(self, what: str, exc: OSError, key: str | None = None) -> StorageUnavailable:
        return StorageUnavailable(key, f"store {self.name!r}: {what}: {exc.strerror or exc}")

    def _not_plain_file(self, key: str) -> IntegrityMismatch:
        return IntegrityMismatch(
            key, f"store {self.name!r} holds something other than a plain file at this key"
        )

    def _require_root(self) -> None:
        """Reads need the root to exist: a missing root is an unmounted or misconfigured store,
        not an empty one (an audit must not report every object missing and 'repair' them there)."""
        if not self.root.is_dir():
            raise StorageUnavailable(
                None, f"store {self.name!r}: root folder {self.root} does not exist"
            )

    def _ensure_root(self) -> None:
        """Writes and health checks create the root, so a fresh machine works with no setup."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unavailable(f"cannot create root folder {self.root}", exc) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(
                None, f"store {self.name!r}: root folder {self.root} is not writable"
            )

    def _lstat_mode(self, key: str) -> int | None:
        """File type at the key's path (stat.S_IFREG, S_IFDIR, ...), or None if nothing is there."""
        try:
            return stat.S_IFMT(os.lstat(self._object_path(key)).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._unavailable(f"cannot examine {self._object_path(key)}", exc, key) from exc

    def _existing(self, key: str) -> ObjectInfo | None:
        """The committed object at `key` as recorded, or None if there is none."""
        mode = self._lstat_mode(key)
        if mode in (None, stat.S_IFDIR):
            return None
        if mode != stat.S_IFREG:
            raise self._not_plain_file(key)
        return self._read_record(key)

    def _read_record(self, key: str) -> ObjectInfo:
        path = self._record_path(key)
        try:
            fd = os.open(path, _OPEN_FOR_READING)
            with os.fdopen(fd, "rb") as record:
                raw = record.read(_MAX_RECORD_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise IntegrityMismatch(
                key, "the object's fixity record is missing; repair the object from a good copy"
            ) from exc
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR):
                raise self._damaged_record(key) from exc
            raise self._unavailable(f"cannot read {path}", exc, key) from exc
        try:
            match = _RECORD.fullmatch(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self._damaged_record(key) from exc
        if match is None or match["key"] != key:
            raise self._damaged_record(key)
        return ObjectInfo(key, int(match["size"]), match["sha256"])

    @staticmethod
    def _damaged_record(key: str) -> IntegrityMismatch:
        return IntegrityMismatch(
            key, "the object's fixity record is damaged; repair the object from a good copy"
        )

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _staged(self, stream: BinaryIO) -> Iterator[tuple[Path, str, int]]:
        """Stream into a read-only, fsynced temp file; yield (path, sha256, size); remove it after
        unless it was renamed into place. The caller's own read errors pass through untouched."""
        temp = self.root / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        reader = HashingReader(stream)
        try:
            try:
                out = temp.open("xb")
            except OSError as exc:
                raise self._unavailable(f"cannot create {temp}", exc) from exc
            with out:
                while chunk := reader.read(CHUNK_SIZE):
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise self._unavailable(f"cannot write {temp}", exc) from exc
                try:
                    out.flush()
                    os.fsync(out.fileno())
                    os.fchmod(out.fileno(), _READ_ONLY)
                except OSError as exc:
                    raise self._unavailable(f"cannot write {temp}", exc) from exc
            yield temp, reader.hexdigest(), reader.size
        finally:
            temp.unlink(missing_ok=True)

    @contextmanager
    def _commit_lock(self) -> Iterator[None]:
        try:
            fd = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise self._unavailable("cannot open the commit lock", exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _install(self, key: str, temp: Path, sha256: str, size: int, *, repairing: bool) -> None:
        """Write the fixity record, then rename `temp` onto the object. Caller holds the lock."""
        obj = self._object_path(key)
        try:
            self._make_folders(self._record_path(key).parent)
            self._write_record(key, sha256, size)
            self._make_folders(obj.parent)
            temp.replace(obj)
            _fsync_dir(obj.parent)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise StorageError(
                key,
                "the local store cannot hold this key: another key uses its path as a folder, "
                "or one of its folders as an object",
            ) from exc
        except OSError as exc:
            if repairing and exc.errno == errno.EPERM:
                raise ImmutableObject(
                    key,
                    f"store {self.name!r}: the filesystem refuses to replace this object "
                    "(immutable attribute?); lift the protection, then repair again",
                ) from exc
            raise self._unavailable(f"cannot commit {obj}", exc, key) from exc

    def _make_folders(self, folder: Path) -> None:
        """Create the missing folders down to `folder`, each made durable in its parent.

        Raises FileExistsError or NotADirectoryError when an object file is in the way."""
        missing: list[Path] = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for new in reversed(missing):
            new.mkdir()
            _fsync_dir(new.parent)

    def _write_record(self, key: str, sha256: str, size: int) -> None:
        record = self._record_path(key)
        temp = self.root / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            with temp.open("xb") as out:
                out.write(f"# size {size}\n{sha256}  {key}\n".encode())
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), _READ_ONLY)
            temp.replace(record)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(record.parent)

    # -- listing -------------------------------------------------------------------------------

    def _walk(self, folder: Path, folder_key: str, prefix: str) -> Iterator[ObjectInfo]:
        """Yield the objects under `folder` in key order, lazily (one folder listing at a time).

        Sorting a folder's entries by name, with '/' appended to subfolders, yields keys in exact
        string order: every key below subfolder `d` starts with `d/`."""
        try:
            with os.scandir(folder) as found:
                entries = [
                    (entry.name, entry.is_dir(follow_symlinks=False))
                    for entry in found
                    if not entry.name.startswith(".")  # temp files, records, lock
                ]
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing stored under this prefix
        except OSError as exc:
            raise self._unavailable(f"cannot list {folder}", exc) from exc
        entries.sort(key=lambda entry: entry[0] + "/" if entry[1] else entry[0])
        for name, is_folder in entries:
            key = f"{folder_key}/{name}" if folder_key else name
            if is_folder:
                if f"{key}/".startswith(prefix) or prefix.startswith(f"{key}/"):
                    yield from self._walk(folder / name, key, prefix)
            elif key.startswith(prefix):
                info = self._listed(key)
                if info is not None:
                    yield info

    def _listed(self, key: str) -> ObjectInfo | None:
        try:
            validate_key(key)
        except ValueError as exc:
            raise IntegrityMismatch(
                key, f"store {self.name!r} holds a file whose name is not a valid key ({exc})"
            ) from exc
        return self._existing(key)
