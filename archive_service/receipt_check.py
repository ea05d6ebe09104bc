"""`archive receipt verify`: the signature is the archive's, and the archive still holds exactly
what the receipt lists (same files, same SHA-256, present in every copy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from archive_service.catalog.models import Document, StoredFile
from archive_service.receipts import verify_receipt_signature
from archive_service.wiring import Services
from storage.errors import StorageError


@dataclass
class ReceiptCheck:
    signature_ok: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "signature_ok": self.signature_ok, "problems": self.problems}


def check_receipt(services: Services, receipt: dict[str, Any]) -> ReceiptCheck:
    result = ReceiptCheck(signature_ok=verify_receipt_signature(services.keyring, receipt))
    with services.sessions() as session:
        for document in receipt.get("documents", []):
            for item in document.get("files", []):
                stored = session.scalars(
                    select(StoredFile)
                    .join(Document)
                    .where(
                        Document.code == document.get("code"),
                        StoredFile.role == item.get("role"),
                        StoredFile.name == item.get("name"),
                        StoredFile.sha256 == item.get("sha256"),
                    )
                ).first()
                label = f"{document.get('code')}/{item.get('role')}/{item.get('name')}"
                if stored is None:
                    result.problems.append(f"không có trong danh mục / not in the catalog: {label}")
                    continue
                for store in services.store.copies:
                    try:
                        found = store.hash_object(stored.object_key)
                    except StorageError:
                        found = None
                    if found != stored.sha256:
                        result.problems.append(
                            f"bản '{store.name}' thiếu hoặc hỏng / copy '{store.name}' missing or corrupted: {label}"
                        )
    return result
