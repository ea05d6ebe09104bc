"""Where uploaded packages wait for a worker on another host: a plain S3 bucket.

Not a preservation store. An upload is a temporary input: it is put once (fixity checked by
the server as for any object), read by whichever worker takes the transfer, and deleted when the
transfer has ended for good. That is why this area has the `delete` the `ObjectStore` port
deliberately lacks, and why it refuses a bucket with object lock: uploads must not be retained.
"""

from __future__ import annotations

from typing import BinaryIO, cast
from urllib.parse import urlsplit

from storage.factory import from_url
from storage.protocol import ObjectInfo
from storage.s3 import MinioObjectStore


class UploadArea:
    """Uploads kept as objects in one bucket without object lock, with put, open and delete."""

    def __init__(self, store: MinioObjectStore) -> None:
        if store.lock_mode is not None:
            raise ValueError("the uploads bucket must not lock objects: add ?lock=off to its URL")
        self._store = store

    def put(self, key: str, stream: BinaryIO, expected_sha256: str) -> ObjectInfo:
        """Store an upload (same key and bytes again: no-op); see `ObjectStore.put`."""
        return self._store.put(key, stream, expected_sha256)

    def open(self, key: str) -> BinaryIO:
        """The upload's bytes; `ObjectNotFound` if it is not (or no longer) there."""
        return self._store.open(key)

    def delete(self, key: str) -> None:
        """Remove an upload whose transfer has ended (absent already: nothing happens)."""
        self._store._call(key, lambda: self._store.client.remove_object(self._store.bucket, key))


def upload_area_from_url(url: str) -> UploadArea:
    """`s3://ACCESS:SECRET@HOST:PORT/BUCKET?lock=off`: the bucket uploads wait in."""
    if urlsplit(url).scheme.lower() not in ("s3", "minio"):
        raise ValueError("the uploads area must be an S3 bucket (s3://host:port/bucket?lock=off)")
    return UploadArea(cast(MinioObjectStore, from_url(url, "uploads")))
