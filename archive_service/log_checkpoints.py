"""Signed checkpoints of the audit log, and verification an auditor can run offline.

A hash chain shows any changed, removed or reordered entry, but not a cut-off tail nor a
rewritten table. A checkpoint is the last entry's (seq, hash), signed with the archive's Ed25519
key and stored as an immutable object in every copy of the object store, outside the catalog
database. Given an export of the log (`archive log export`), the checkpoints and the public keys
(`archive keys public`), `verify_offline` needs nothing else: no database, no archive.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.audit_log import GENESIS_HASH, entry_hash
from archive_service.catalog.models import AuditEntry
from archive_service.signing import canonical_json, sign, verify_signature
from archive_service.wiring import Services

CHECKPOINT_PREFIX = "log-checkpoints/"
KIND = "audit-log-checkpoint"


def export_entries(session: Session) -> Iterator[dict[str, Any]]:
    """Every entry, in order, as the JSON an auditor receives (hashed fields plus the hash)."""
    for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)):
        at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at.astimezone(UTC)
        yield {
            "seq": row.seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": row.actor,
            "action": row.action,
            "target": row.target,
            "details": row.details,
            "prev_hash": row.prev_hash,
            "entry_hash": row.entry_hash,
        }


def make_checkpoint(services: Services) -> dict[str, Any] | None:
    """Sign the log's current head and store it in every copy; None when the log is empty."""
    with services.sessions() as session:
        head = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
        if head is None:
            return None
        payload: dict[str, Any] = {
            "kind": KIND,
            "seq": head.seq,
            "entry_hash": head.entry_hash,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    key = services.keyring.current()
    checkpoint = {**payload, "key_id": key.key_id, "signature": sign(key, payload)}
    data = canonical_json(checkpoint)
    key_name = f"{CHECKPOINT_PREFIX}{head.seq:012d}-{head.entry_hash[:16]}.json"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.json"
        path.write_bytes(data)
        services.store.put_file(key_name, path, hashlib.sha256(data).hexdigest())
    return checkpoint


def stored_checkpoints(services: Services) -> list[dict[str, Any]]:
    """The checkpoints kept in the primary copy, oldest first."""
    store = services.store.copies[0]
    result = []
    for info in store.iterate(CHECKPOINT_PREFIX):
        with store.open(info.key) as stream:
            result.append(json.loads(stream.read()))
    return result


@dataclass(frozen=True)
class OfflineVerdict:
    ok: bool
    entries: int
    checkpoints: int
    problem_vi: str = ""
    problem_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "problem_vi": self.problem_vi,
            "problem_en": self.problem_en,
        }


def verify_offline(
    entries: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]],
    public_keys: Mapping[str, Ed25519PublicKey],
) -> OfflineVerdict:
    """Check the exported chain, then that every signed checkpoint is genuine and in the chain."""
    heads: dict[int, str] = {}
    previous, count = GENESIS_HASH, 0
    for entry in entries:
        count += 1
        if entry["prev_hash"] != previous or entry_hash(entry) != entry["entry_hash"]:
            return OfflineVerdict(
                False,
                count,
                0,
                f"Mục {entry['seq']} bị sửa, xóa hoặc đổi chỗ",
                f"Entry {entry['seq']} was changed, removed or reordered",
            )
        previous = entry["entry_hash"]
        heads[int(entry["seq"])] = previous
    checked = 0
    for checkpoint in checkpoints:
        checked += 1
        payload = {k: v for k, v in checkpoint.items() if k not in ("key_id", "signature")}
        if not verify_signature(public_keys, str(checkpoint.get("key_id")), payload, str(checkpoint.get("signature"))):
            return OfflineVerdict(
                False, count, checked, "Chữ ký của điểm kiểm tra không hợp lệ", "A checkpoint's signature is not valid"
            )
        if heads.get(int(checkpoint["seq"])) != checkpoint["entry_hash"]:
            return OfflineVerdict(
                False,
                count,
                checked,
                f"Nhật ký không còn mục {checkpoint['seq']} đã được ký xác nhận (bị cắt hoặc viết lại)",
                f"The log no longer holds the signed entry {checkpoint['seq']} (cut off or rewritten)",
            )
    return OfflineVerdict(True, count, checked)
