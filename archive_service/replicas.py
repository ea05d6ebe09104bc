"""Every object in every copy: writes go to all copies and are verified; reads fall back.

Circular 02/2019 Art. 8 asks for at least two copies on independent media. A transfer is
accepted only when each object is in every copy with the expected SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from archive_service.errors import BackendUnavailableError, IntegrityError, NotFoundError
from storage.errors import IntegrityMismatch, ObjectNotFound, StorageUnavailable
from storage.protocol import ObjectStore

CHUNK = 1024 * 1024


def store_unavailable(name: str, exc: StorageUnavailable) -> BackendUnavailableError:
    """The bilingual, retryable error for a copy that cannot be reached."""
    return BackendUnavailableError(
        f"Kho lưu trữ đối tượng '{name}' không truy cập được; chạy lại khi kho hoạt động trở lại: {exc}",
        f"The object store '{name}' is unavailable; run again when it is back: {exc}",
    )


class ReplicatedStore:
    """The primary and replica stores seen as one, with SDK errors translated to ArchiveErrors."""

    def __init__(self, copies: Sequence[ObjectStore]) -> None:
        if len(copies) < 2:
            raise ValueError("at least two independent copies are required (Circular 02/2019 Art. 8)")
        self.copies = list(copies)

    def put_file(self, key: str, source: Path, sha256: str, retain_until: datetime | None = None) -> None:
        """Store `source` under `key` in every copy and check each copy's recorded SHA-256;
        copies with object lock keep a new object locked until `retain_until`."""
        for store in self.copies:
            try:
                with source.open("rb") as stream:
                    info = store.put(key, stream, sha256, retain_until=retain_until)
            except StorageUnavailable as exc:
                raise store_unavailable(store.name, exc) from exc
            except IntegrityMismatch as exc:
                raise IntegrityError(
                    f"Đối tượng '{key}' trong bản '{store.name}' khác mã băm mong đợi",
                    f"Object '{key}' in copy '{store.name}' does not have the expected hash",
                ) from exc
            if info.sha256 != sha256:
                raise IntegrityError(
                    f"Bản '{store.name}' ghi mã băm khác cho '{key}'",
                    f"Copy '{store.name}' recorded another hash for '{key}'",
                )

    def read_to(self, key: str, sha256: str, target: Path) -> str:
        """Write the object's bytes to `target` from the first copy whose bytes verify.

        Returns the name of the copy used. A corrupted copy is skipped, never served.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        for store in self.copies:
            fd, temp_name = tempfile.mkstemp(prefix=".part-", dir=target.parent)
            temp = Path(temp_name)
            try:
                digest = hashlib.sha256()
                with os.fdopen(fd, "wb") as out, store.open(key) as stream:
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() == sha256:
                    temp.replace(target)
                    return store.name
            except (ObjectNotFound, StorageUnavailable, IntegrityMismatch, OSError):
                continue
            finally:
                temp.unlink(missing_ok=True)
        raise NotFoundError(
            f"Không còn bản nào của '{key}' khớp mã băm",
            f"No copy of '{key}' with the expected hash is available",
        )
