"""Legal hold on request: freeze every object of a dossier, in every copy (decision 0012).

A legal hold (an inspection, a dispute, a court order) keeps objects undeletable whatever their
retention, and even a governance-mode bypass cannot remove a held version. `archive hold CODE
--on/--off` places or lifts it on every stored version of every object of every AIP version of
the dossier, in both copies; without `--on/--off` it only shows the state. Archivists and
administrators change holds; auditors may look. Each change is written to the audit log and as
an event of each AIP.

Only stores with object lock have legal holds. If a copy has none (the local filesystem store,
or a bucket without object lock) nothing is changed and the request is refused, so a dossier is
never held in one copy and free in the other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import audit_log
from archive_service.access import Reader
from archive_service.catalog.models import Dossier, Event, StoredObject, Transfer
from archive_service.errors import ConflictError, ForbiddenError, NotFoundError
from archive_service.replicas import store_unavailable
from archive_service.states import EventOutcome, Role, TransferStatus
from archive_service.wiring import Services
from storage.errors import ObjectNotFound, OperationNotSupported, StorageUnavailable
from storage.protocol import LockingStore, ObjectStore

_MAY_CHANGE = (Role.ARCHIVIST, Role.ADMIN)
_MAY_LOOK = (*_MAY_CHANGE, Role.AUDITOR)


@dataclass(frozen=True)
class ObjectHold:
    """One object in one copy after the request: its legal hold and retention, or missing."""

    key: str
    copy: str
    found: bool
    legal_hold: bool = False
    mode: str | None = None
    retain_until: datetime | None = None

    def describe(self) -> str:
        """One line for the terminal: copy, key, hold and retention."""
        if not self.found:
            return f"[{self.copy}] {self.key}  THIẾU / MISSING"
        hold = "BẬT / ON" if self.legal_hold else "TẮT / OFF"
        until = f"{self.retain_until:%Y-%m-%d}" if self.retain_until else "-"
        return (
            f"[{self.copy}] {self.key}  giữ pháp lý / legal hold: {hold}; "
            f"khóa / retention: {self.mode or '-'} đến / until {until}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "copy": self.copy,
            "found": self.found,
            "legal_hold": self.legal_hold,
            "mode": self.mode,
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
        }


@dataclass(frozen=True)
class HoldReport:
    dossier: str
    requested: bool | None
    objects: list[ObjectHold]

    @property
    def missing(self) -> list[ObjectHold]:
        return [item for item in self.objects if not item.found]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dossier": self.dossier,
            "requested": None if self.requested is None else ("on" if self.requested else "off"),
            "objects": [item.to_dict() for item in self.objects],
        }


def legal_hold(services: Services, reader: Reader, code: str, on: bool | None) -> HoldReport:
    """Place (`on`), lift (`not on`) or only show (`None`) the legal hold of dossier `code`."""
    if reader.role not in (_MAY_LOOK if on is None else _MAY_CHANGE):
        raise ForbiddenError(
            "Chỉ lưu trữ viên hoặc quản trị viên được đặt hoặc gỡ giữ pháp lý",
            "Only an archivist or an administrator may place or lift a legal hold",
        )
    copies = [(copy.name, _locking(copy)) for copy in services.store.copies]
    with services.sessions() as session:
        aips = _aips_of(session, code)
        keys = sorted(session.scalars(select(StoredObject.key).where(StoredObject.aip_id.in_(aips))))
    if not keys:
        raise NotFoundError(f"Không có hồ sơ '{code}'", f"There is no dossier '{code}'")
    for name, copy in copies:
        _probe(name, copy, keys[0])
    objects = [_apply(name, copy, key, on) for key in keys for name, copy in copies]
    if on is not None:
        _record(services, reader, code, aips, on, objects)
    return HoldReport(code, on, objects)


def _aips_of(session: Session, code: str) -> list[str]:
    """Every accepted AIP version of the dossier."""
    return list(
        session.scalars(
            select(Dossier.aip_id)
            .join(Transfer, Dossier.transfer_id == Transfer.id)
            .where(Dossier.code == code, Transfer.status == TransferStatus.ACCEPTED)
            .order_by(Dossier.aip_version)
        )
    )


def _unsupported(name: str) -> ConflictError:
    return ConflictError(
        f"Bản '{name}' không hỗ trợ giữ pháp lý (cần kho MinIO/S3 có khóa đối tượng); không thay đổi gì",
        f"Copy '{name}' does not support legal holds (it needs a MinIO/S3 store with object lock); "
        "nothing was changed",
    )


def _locking(copy: ObjectStore) -> LockingStore:
    if not isinstance(copy, LockingStore):
        raise _unsupported(copy.name)
    return copy


def _probe(name: str, copy: LockingStore, key: str) -> None:
    """Refuse before changing anything if the copy keeps no locks (a bucket without lock)."""
    try:
        copy.lock_state(key)
    except OperationNotSupported as exc:
        raise _unsupported(name) from exc
    except ObjectNotFound:
        pass  # reported per object
    except StorageUnavailable as exc:
        raise store_unavailable(name, exc) from exc


def _apply(name: str, copy: LockingStore, key: str, on: bool | None) -> ObjectHold:
    try:
        if on is not None:
            copy.set_legal_hold(key, on)
        state = copy.lock_state(key)
    except ObjectNotFound:
        return ObjectHold(key, name, found=False)
    except StorageUnavailable as exc:
        raise store_unavailable(name, exc) from exc
    return ObjectHold(key, name, True, state.legal_hold, state.mode, state.retain_until)


def _record(
    services: Services, reader: Reader, code: str, aips: list[str], on: bool, objects: list[ObjectHold]
) -> None:
    held = sum(1 for item in objects if item.found)
    placed_vi, placed_en = ("Đặt", "placed") if on else ("Gỡ", "lifted")
    detail = (
        f"{placed_vi} giữ pháp lý trên {held} đối tượng ở mọi bản / legal hold {placed_en} on "
        f"{held} objects in every copy"
    )
    with services.sessions() as session, session.begin():
        audit_log.append(
            session,
            reader.name,
            audit_log.AuditAction.LEGAL_HOLD,
            code,
            {"hold": "on" if on else "off", "objects": held, "missing": len(objects) - held},
        )
        session.add_all(
            Event(
                event_id=str(uuid.uuid4()),
                object_type="aip",
                object_ref=aip,
                event_type="legal hold" if on else "legal hold release",
                outcome=EventOutcome.SUCCESS if held == len(objects) else EventOutcome.WARNING,
                agent=reader.name,
                detail=detail,
                at=datetime.now(UTC),
            )
            for aip in aips
        )
