"""Making an uploaded package reachable by whichever worker takes its transfer (decision 0017).

Without `ARCHIVE_UPLOADS` an upload stays where the API wrote it, `ARCHIVE_HOME/work/incoming`:
right for the embedded queue and for workers that share that folder. With
`ARCHIVE_UPLOADS=s3://…/BUCKET?lock=off` the API puts each upload in that bucket before queueing
it, and the worker that takes the transfer (on any host) copies it into its own work root,
checking its SHA-256 against the one recorded when it was received. The upload is deleted from
both places when its transfer has ended for good.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from archive_service import intake
from archive_service.catalog import queries
from archive_service.catalog.models import Transfer
from archive_service.errors import BackendUnavailableError, IntegrityError
from archive_service.wiring import Services
from storage.errors import IntegrityMismatch, ObjectNotFound, StorageUnavailable
from storage.upload_area import UploadArea, upload_area_from_url

logger = logging.getLogger("archive_service.uploads")
_CHUNK = 1024 * 1024


class UploadNotStagedError(BackendUnavailableError):
    """The upload is not in the uploads area (yet): the server that received it stages it."""

    code = "upload_not_staged"


def incoming_dir(services: Services) -> Path:
    """Where uploads wait for their transfer on this host (inside the work root)."""
    return services.settings.work_root / "incoming"


def local_upload(services: Services, transfer_id: str) -> Path:
    return incoming_dir(services) / f"{transfer_id}.zip"


def _key(transfer_id: str) -> str:
    return f"uploads/{transfer_id}.zip"


def _area(services: Services) -> UploadArea | None:
    url = services.settings.uploads
    return _area_at(url) if url else None


@lru_cache(maxsize=4)
def _area_at(url: str) -> UploadArea:
    return upload_area_from_url(url)


def _unavailable(exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"Vùng chờ gói tải lên không truy cập được: {exc}", f"The uploads area is unavailable: {exc}"
    )


def stage(services: Services, transfer_id: str) -> None:
    """API side: put the received upload in the uploads area, then drop the local file.

    Nothing to do without an uploads area, or when the local file is gone (staged already).
    """
    area = _area(services)
    local = local_upload(services, transfer_id)
    if area is None or not local.exists():
        return
    received = intake.received_body(services, transfer_id)
    if received is None:
        raise LookupError(transfer_id)
    try:
        with local.open("rb") as stream:
            area.put(_key(transfer_id), stream, received["sha256"])
    except StorageUnavailable as exc:
        raise _unavailable(exc) from exc
    local.unlink(missing_ok=True)


def materialise(services: Services, transfer: Transfer) -> None:
    """Worker side, under the transfer's lease: make `transfer.source_path` a local file.

    With an uploads area the upload is copied into this host's work root (verified) and the
    transfer's `source_path` is pointed at it; otherwise the recorded path is used as it is.
    """
    area = _area(services)
    if area is None:
        if not Path(transfer.source_path).is_file():
            raise BackendUnavailableError(
                f"Tiến trình này không đọc được gói tải lên {transfer.source_path}: đặt ARCHIVE_UPLOADS "
                "hoặc chia sẻ thư mục incoming của máy chủ",
                f"This worker cannot read the upload {transfer.source_path}: set ARCHIVE_UPLOADS, "
                "or share the server's incoming folder",
            )
        return
    target = local_upload(services, transfer.id)
    if not target.exists():
        received = intake.received_body(services, transfer.id)
        if received is None:
            raise LookupError(transfer.id)
        _download(area, transfer.id, received["sha256"], target)
    if transfer.source_path != str(target):
        with services.sessions() as session, session.begin():
            queries.transfer(session, transfer.id).source_path = str(target)
        transfer.source_path = str(target)


def _download(area: UploadArea, transfer_id: str, sha256: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, area.open(_key(transfer_id)) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityError(
                f"Gói tải lên của giao nộp {transfer_id} không khớp mã băm khi nhận",
                f"The upload of transfer {transfer_id} does not match the SHA-256 it was received with",
            )
        temp.replace(target)
    except ObjectNotFound as exc:
        raise UploadNotStagedError(
            f"Gói của giao nộp {transfer_id} chưa có trong vùng chờ",
            f"The upload of transfer {transfer_id} is not in the uploads area yet",
        ) from exc
    except (StorageUnavailable, IntegrityMismatch) as exc:
        raise _unavailable(exc) from exc
    finally:
        temp.unlink(missing_ok=True)


def discard(services: Services, transfer: Transfer) -> None:
    """The transfer has ended for good: its upload is no longer needed anywhere.

    Only API uploads are touched (files under the incoming folder); `keep_work_dirs` keeps them.
    A failure to delete from the uploads area is logged: the object is only a leftover input.
    """
    if services.settings.keep_work_dirs:
        return
    for path in {Path(transfer.source_path), local_upload(services, transfer.id)}:
        if path.parent == incoming_dir(services):
            path.unlink(missing_ok=True)
    area = _area(services)
    if area is not None:
        try:
            area.delete(_key(transfer.id))
        except StorageUnavailable as exc:
            logger.warning("could not delete the upload of transfer %s: %s", transfer.id, exc)
