"""What an AIP records about its own transfer, so the catalog can be rebuilt from storage alone.

The build-AIP step seals, with the AIP, everything the catalog step will write: the complete
PREMIS event list (ingestion first, then every step's events), the signed receipt, and the
transfer's facts (`metadata/preservation/transfer.json`). The catalog step then writes exactly
that, and `archive rebuild-catalog` reads it back (docs/decisions/0013-rebuild-catalog.md).

Events added here have identifiers derived from the transfer id, so sealing the same transfer
twice (a resumed step) gives the same bytes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive_service.catalog.models import Transfer
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.pipeline.models import CopyModel, EventRecord, FormatModel, ItemModel
from archive_service.states import FileRole

TRANSFER_RECORD = "metadata/preservation/transfer.json"
RECORD_FORMAT = "archive-service/transfer-record/1"
COPIES = "representations/rep2/data/"
_EVENT_NAMESPACE = uuid.UUID("0b9d51f2-63c4-4d83-a3a5-8f5a0d2f7c41")


def aip_path_of(staged_path: str) -> str:
    """Where a file of the sender's package goes in the AIP (package-format.md)."""
    if staged_path == "METS.xml":
        return "submission/METS.xml"
    if staged_path.startswith(("metadata/", "representations/rep1/")):
        return staged_path
    return f"submission/{staged_path}"


def copy_aip_path(copy_path: str) -> str:
    return COPIES + copy_path


@dataclass(frozen=True)
class FileEntry:
    """One file of a document as the catalog and the receipt list it (original or PDF/A copy)."""

    role: FileRole
    name: str
    aip_path: str
    sha256: str
    size: int
    mimetype: str
    format_name: str
    puid: str
    text: str | None = None

    def receipt_entry(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "format": self.mimetype,
            "puid": self.puid,
        }


def document_files(
    item: ItemModel, formats: dict[str, FormatModel], copies: dict[str, CopyModel]
) -> list[FileEntry]:
    """The document's originals, each followed by its preservation copy if one was made."""
    entries: list[FileEntry] = []
    for file in item.files:
        fmt = formats[file.path]
        entries.append(
            FileEntry(
                role=FileRole.ORIGINAL,
                name=file.path.rsplit("/", 1)[-1],
                aip_path=aip_path_of(file.path),
                sha256=file.sha256,
                size=file.size,
                mimetype=fmt.mimetype,
                format_name=fmt.format_name,
                puid=fmt.puid,
            )
        )
        copy = copies.get(file.path)
        if copy is not None:
            entries.append(
                FileEntry(
                    role=FileRole.PRESERVATION,
                    name=copy.copy_path.rsplit("/", 1)[-1],
                    aip_path=copy_aip_path(copy.copy_path),
                    sha256=copy.sha256,
                    size=copy.size,
                    mimetype="application/pdf",
                    format_name=copy.conformance,
                    puid=copy.puid,
                    text=copy.text,
                )
            )
    return entries


def derived_event_id(transfer_id: str, event_type: str) -> str:
    """A stable identifier for an event the sealing adds (same transfer, same id)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{transfer_id}/{event_type}"))


def ingestion_event(transfer_id: str, package_id: str, received_at: datetime) -> EventRecord:
    """The PREMIS ingestion event, dated when the package was received."""
    return EventRecord(
        event_id=derived_event_id(transfer_id, "ingestion"),
        event_type="ingestion",
        at=received_at,
        detail=f"Tiếp nhận gói {package_id} / received package {package_id}",
        outcome="success",
        agent=ARCHIVE_AGENT,
    )


def transfer_record(
    transfer: Transfer,
    *,
    aip_id: str,
    aip_version: int,
    record_status: str,
    received_at: datetime,
    sealed_at: datetime,
    receipt: dict[str, Any],
) -> bytes:
    """`metadata/preservation/transfer.json`: the transfer's facts and the receipt as signed."""
    record = {
        "format": RECORD_FORMAT,
        "transfer": {
            "id": transfer.id,
            "package_id": transfer.package_id,
            "package_digest": transfer.package_digest,
            "idempotency_key": transfer.idempotency_key,
            "submitter": transfer.submitter,
            "submitter_org": transfer.submitter_org,
            "requested_profile": transfer.profile,
            "source_path": transfer.source_path,
            "received_at": received_at.isoformat(),
        },
        "aip": {
            "id": aip_id,
            "version": aip_version,
            "record_status": record_status,
            "sealed_at": sealed_at.isoformat(),
        },
        "receipt": receipt,
    }
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
