"""Storage errors, translated at the backend border: nothing above storage/ sees an OS or SDK error.

Messages are English; the application maps each class to its bilingual `ArchiveError`. The names
are the ones the architecture gives (`storage.errors.StorageUnavailable`, ...); they name the
failure rather than end in `Error`, hence the N818 exemptions.
"""

from __future__ import annotations

from typing import ClassVar


class StorageError(Exception):
    """Base class: something went wrong with the object stored (or to be stored) under `key`.

    Raised as such only when no subclass fits, e.g. a key that the local filesystem cannot hold
    because another key already uses it as a folder.
    """

    retryable: ClassVar[bool] = False

    def __init__(self, key: str | None, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(message if key is None else f"{message} (key: {key})")


class StorageUnavailable(StorageError):  # noqa: N818
    """The backend cannot be reached or cannot accept writes; the operation may succeed later."""

    retryable = True


class ObjectNotFound(StorageError):  # noqa: N818
    """No object is stored under the key (never stored, or its bytes were removed since)."""

    def __init__(self, key: str, message: str = "no object is stored under this key") -> None:
        super().__init__(key, message)


class IntegrityMismatch(StorageError):  # noqa: N818
    """Bytes do not have the SHA-256 they should have, or another object already holds the key.

    `expected` is the SHA-256 the caller asked for; `found` is the one actually seen (of the
    stream, or the recorded one of the object already stored); either may be unknown.
    """

    def __init__(
        self, key: str, message: str, *, expected: str | None = None, found: str | None = None
    ) -> None:
        self.expected = expected
        self.found = found
        super().__init__(key, message)


class ImmutableObject(StorageError):  # noqa: N818
    """The backend itself refuses to rewrite a committed object (object lock, immutable file)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)


class OperationNotSupported(StorageError):  # noqa: N818
    """This store cannot do what was asked (e.g. a legal hold on a store without object lock)."""
