"""Debris of interrupted writes: unfinished uploads that only the store itself can remove.

A multipart upload cut off where the store cannot abort it (the server stopped, the process
killed) stays on the server, invisible to readers but holding space. The store step aborts
those of its keys before writing them again (decision 0012), so a retried transfer leaves none.
"""

from __future__ import annotations

from collections.abc import Iterable

from archive_service.replicas import ReplicatedStore, store_unavailable
from storage.errors import StorageUnavailable
from storage.protocol import UploadCleaningStore


def discard_incomplete_uploads(store: ReplicatedStore, keys: Iterable[str]) -> int:
    """Abort every unfinished upload of `keys` in every copy that can have them; return how many."""
    cleaning = [copy for copy in store.copies if isinstance(copy, UploadCleaningStore)]
    if not cleaning:
        return 0
    aborted = 0
    for key in keys:
        for copy in cleaning:
            try:
                aborted += copy.discard_incomplete(key)
            except StorageUnavailable as exc:
                raise store_unavailable(copy.name, exc) from exc
    return aborted
