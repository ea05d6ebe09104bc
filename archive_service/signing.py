"""Ed25519 signing keys with ids, kept under `ARCHIVE_HOME/keys/` (spec interfaces.md, keys).

Receipts (and log checkpoints) are signed so that a sender can check them years later, after the
archive has rotated its key: old keys are never deleted, only superseded, and a backup holds them
all. Everything signed or hashed in the archive is first put in one canonical form, RFC 8785
(`canonical_json`), so that a verifier in any language gets the same bytes.

Layout of `keys/` (directory mode 0700):

- `<key_id>.private.pem`: PKCS #8 private key, mode 0600, never overwritten;
- `<key_id>.public.pem`: SubjectPublicKeyInfo public key, mode 0644;
- `current`: the id of the key that signs now;
- `.lock`: serialises creation, rotation and import between processes.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archive_service.errors import ConflictError, IntegrityError, NotFoundError

BACKUP_FORMAT = "archive-service-keyring"
BACKUP_VERSION = 1
_PRIVATE_SUFFIX = ".private.pem"
_PUBLIC_SUFFIX = ".public.pem"


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 form of a JSON value: the only bytes the archive ever signs or hashes.

    Raises `rfc8785.CanonicalizationError` (a `ValueError`) for anything that is not plain JSON
    (non-string keys, NaN, integers beyond ±2**53, dates, ...), so such values are refused before
    they are signed or chained rather than silently coerced.
    """
    return rfc8785.dumps(value)


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """A private key together with its id (the id travels with every signature)."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def sign(key: SigningKey, payload: Mapping[str, Any]) -> str:
    """Base64 Ed25519 signature over the canonical JSON of `payload`."""
    return base64.b64encode(key.private_key.sign(canonical_json(dict(payload)))).decode("ascii")


def verify_signature(
    public_keys: Mapping[str, Ed25519PublicKey],
    key_id: str,
    payload: Mapping[str, Any],
    signature: str,
) -> bool:
    """Whether `signature` is key `key_id`'s signature of `payload`.

    Any reason for not verifying (unknown key, malformed base64, payload that has no canonical
    form, wrong signature) is a plain `False`: the caller only needs to know it cannot trust it.
    """
    public_key = public_keys.get(key_id)
    if public_key is None:
        return False
    try:
        public_key.verify(base64.b64decode(signature, validate=True), canonical_json(dict(payload)))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class KeyRing:
    """The archive's signing keys under `home/keys/`; nothing is created until a key is needed."""

    def __init__(self, home: Path) -> None:
        self.directory = home / "keys"

    def current(self) -> SigningKey:
        """The key that signs now, created on first use."""
        key_id = self._current_id()
        if key_id is None:
            with self._lock():
                key_id = self._current_id()
                if key_id is None:
                    return self._add_current_key(Ed25519PrivateKey.generate())
        return self._load_private(key_id)

    def rotate(self) -> SigningKey:
        """Make a new key current; earlier keys stay so their signatures still verify."""
        with self._lock():
            return self._add_current_key(Ed25519PrivateKey.generate())

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key this archive holds (current and retired), by id: what verification uses."""
        if not self.directory.is_dir():
            return {}
        keys: dict[str, Ed25519PublicKey] = {}
        for path in sorted(self.directory.glob(f"*{_PUBLIC_SUFFIX}")):
            key_id = path.name.removesuffix(_PUBLIC_SUFFIX)
            try:
                public_key = serialization.load_pem_public_key(path.read_bytes())
            except ValueError as exc:
                raise _damaged(path.name) from exc
            if not isinstance(public_key, Ed25519PublicKey) or key_id_for(public_key) != key_id:
                raise _damaged(path.name)
            keys[key_id] = public_key
        return keys

    def export(self, target: Path) -> Path:
        """Write a backup of every key (private and public) and of which one is current.

        `target` is a file to create, or an existing directory to put a dated backup in. The
        backup holds private keys: it is written with mode 0600 and never overwrites a file.
        """
        current = self.current().key_id
        keys: dict[str, dict[str, str]] = {}
        for path in sorted(self.directory.glob(f"*{_PRIVATE_SUFFIX}")):
            key = self._load_private(path.name.removesuffix(_PRIVATE_SUFFIX))
            keys[key.key_id] = {
                "private_key": _private_pem(key.private_key).decode("ascii"),
                "public_key": public_pem(key.public_key).decode("ascii"),
            }
        backup = {
            "format": BACKUP_FORMAT,
            "version": BACKUP_VERSION,
            "current": current,
            "keys": keys,
        }
        if target.is_dir():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = target / f"archive-keys-{stamp}.json"
        data = json.dumps(backup, indent=2).encode("utf-8")
        _write_atomic(target, data, mode=0o600, overwrite=False)
        return target

    def import_backup(self, path: Path) -> list[str]:
        """Add the keys of a backup made by `export`; returns the ids that were new here.

        Keys already present are left as they are. The backup's current key becomes current only
        if this archive has none yet (a restore); otherwise the archive keeps signing with its own.
        """
        try:
            backup = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"Không tìm thấy tệp sao lưu khoá: {path}", f"Key backup not found: {path}"
            ) from exc
        except ValueError as exc:
            raise _damaged(path.name) from exc
        keys = _parse_backup(backup, path.name)
        added = []
        with self._lock():
            for key_id, private_key in keys.items():
                if not (self.directory / f"{key_id}{_PRIVATE_SUFFIX}").exists():
                    self._write_key(key_id, private_key)
                    added.append(key_id)
            if self._current_id() is None:
                self._set_current(backup["current"])
        return added

    # Internals. Callers of the writers below hold `_lock()`.

    def _current_id(self) -> str | None:
        try:
            return (self.directory / "current").read_text("ascii").strip() or None
        except FileNotFoundError:
            return None

    def _load_private(self, key_id: str) -> SigningKey:
        path = self.directory / f"{key_id}{_PRIVATE_SUFFIX}"
        try:
            private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"Không tìm thấy khoá ký {key_id}", f"Signing key {key_id} not found"
            ) from exc
        except ValueError as exc:
            raise _damaged(path.name) from exc
        if (
            not isinstance(private_key, Ed25519PrivateKey)
            or key_id_for(private_key.public_key()) != key_id
        ):
            raise _damaged(path.name)
        return SigningKey(key_id, private_key)

    def _add_current_key(self, private_key: Ed25519PrivateKey) -> SigningKey:
        key = SigningKey(key_id_for(private_key.public_key()), private_key)
        self._write_key(key.key_id, private_key)
        self._set_current(key.key_id)
        return key

    def _write_key(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        # Private before public: a key is only listed (by its public file) once it is complete.
        _write_atomic(
            self.directory / f"{key_id}{_PRIVATE_SUFFIX}",
            _private_pem(private_key),
            mode=0o600,
            overwrite=False,
        )
        _write_atomic(
            self.directory / f"{key_id}{_PUBLIC_SUFFIX}",
            public_pem(private_key.public_key()),
            mode=0o644,
            overwrite=False,
        )

    def _set_current(self, key_id: str) -> None:
        _write_atomic(self.directory / "current", f"{key_id}\n".encode("ascii"), mode=0o644)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """An exclusive lock across processes; not re-entrant (flock is per open file)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.directory / ".lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def _parse_backup(backup: Any, name: str) -> dict[str, Ed25519PrivateKey]:
    """The private keys of a backup, each checked against its id and its public key."""
    if (
        not isinstance(backup, dict)
        or backup.get("format") != BACKUP_FORMAT
        or backup.get("version") != BACKUP_VERSION
        or not isinstance(backup.get("keys"), dict)
        or not isinstance(backup.get("current"), str)
        or backup["current"] not in backup["keys"]
    ):
        raise _damaged(name)
    keys: dict[str, Ed25519PrivateKey] = {}
    for key_id, entry in backup["keys"].items():
        try:
            private_key = serialization.load_pem_private_key(
                entry["private_key"].encode("ascii"), password=None
            )
            public_key = serialization.load_pem_public_key(entry["public_key"].encode("ascii"))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise _damaged(name) from exc
        if (
            not isinstance(private_key, Ed25519PrivateKey)
            or private_key.public_key() != public_key
            or key_id_for(private_key.public_key()) != key_id
        ):
            raise _damaged(name)
        keys[key_id] = private_key
    return keys


def _damaged(name: str) -> IntegrityError:
    return IntegrityError(
        f"Tệp khoá {name} bị hỏng hoặc không khớp với mã khoá",
        f"Key file {name} is damaged or does not match its key id",
    )


def _private_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), as auditors receive it."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_atomic(path: Path, data: bytes, *, mode: int, overwrite: bool = True) -> None:
    """Write `path` so that readers see either nothing (or the old file) or all of `data`.

    The temporary file gets its final mode before any byte is written, so a private key is never
    readable by others, even briefly. Without `overwrite`, an existing file is a `ConflictError`
    (hard-linking fails atomically instead of replacing).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            temporary.replace(path)
        else:
            try:
                path.hardlink_to(temporary)
            except FileExistsError as exc:
                raise ConflictError(
                    f"Tệp {path} đã tồn tại, không ghi đè",
                    f"{path} already exists; not overwritten",
                ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
