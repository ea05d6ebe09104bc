"""Fixity audit: re-hash every stored object in every copy against the catalog; repair on request.

Circular 02/2019's checking procedure asks for the list of faulty files with their location:
each corrupted or missing object is reported by key, copy, expected and found SHA-256. Repair
puts back verified bytes from a good copy (the only rewrite allowed) and records an event.
"""

from __future__ import annotations

import hashlib
import html
import random
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from archive_service import audit_log
from archive_service.catalog.models import Event, StoredObject
from archive_service.states import EventOutcome
from archive_service.wiring import Services
from storage.errors import IntegrityMismatch, ObjectNotFound, OperationNotSupported, StorageError
from storage.protocol import LockingStore, ObjectStore

HASH_WORKERS = 4
"""Objects audited at once (I/O and hashing overlap; two cores are enough to gain)."""
_BATCH = 256


@dataclass
class AuditReport:
    checked: int = 0
    ok: int = 0
    corrupted: list[dict[str, str]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    repaired: list[dict[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing is left corrupted or missing (repaired objects count as fixed)."""
        fixed = {(r["key"], r["copy"]) for r in self.repaired}
        faults = [*self.corrupted, *self.missing]
        return all((f["key"], f["copy"]) in fixed for f in faults)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "corrupted": self.corrupted,
            "missing": self.missing,
            "repaired": self.repaired,
        }


def _check(store: ObjectStore, key: str, expected: str) -> str | None:
    """The SHA-256 found in this copy, or None when the object is missing."""
    try:
        return store.hash_object(key)
    except ObjectNotFound:
        return None
    except IntegrityMismatch:
        return "unreadable"


def _hashed(copies: Sequence[ObjectStore], objects: Sequence[tuple[str, str]]) -> Iterator[dict[str, str | None]]:
    """What each copy holds of each object, in order: the SHA-256 found, or None when missing.

    `HASH_WORKERS` objects are read and hashed at a time: sockets, files and `hashlib` release
    the GIL, so the reads of one object overlap the hashing of another and hashing uses every
    core. Objects are taken `_BATCH` at a time, so memory does not grow with the holding.
    """

    def check(item: tuple[str, str]) -> dict[str, str | None]:
        return {store.name: _check(store, item[0], item[1]) for store in copies}

    with ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="audit") as pool:
        for start in range(0, len(objects), _BATCH):
            yield from pool.map(check, objects[start : start + _BATCH])


def in_daily_slice(key: str, cycle_days: int, day: date) -> bool:
    """Whether `key` is audited on `day` when a full cycle must cover the holding in `cycle_days`.

    Keys are spread over the days of the cycle by their hash, so daily scheduled runs check each
    object exactly once per cycle, with no state to keep.
    """
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % cycle_days == day.toordinal() % cycle_days


def run_audit(
    services: Services,
    actor: str,
    *,
    sample: int | None = None,
    repair: bool = False,
    scheduled_day: date | None = None,
) -> AuditReport:
    """Audit all objects, a random `sample`, or the slice of `scheduled_day`, in every copy."""
    with services.sessions() as session:
        objects = [(key, digest) for key, digest in session.execute(select(StoredObject.key, StoredObject.sha256))]
    if scheduled_day is not None:
        cycle = services.settings.audit_cycle_days
        objects = [(key, digest) for key, digest in objects if in_daily_slice(key, cycle, scheduled_day)]
    if sample is not None and sample < len(objects):
        objects = random.sample(objects, sample)
    report = AuditReport()
    copies = services.store.copies
    events: list[Event] = []
    for (key, expected), found in zip(objects, _hashed(copies, objects), strict=True):
        for store in copies:
            report.checked += 1
            value = found[store.name]
            if value == expected:
                report.ok += 1
            elif value is None:
                report.missing.append({"key": key, "copy": store.name})
            else:
                report.corrupted.append({"key": key, "copy": store.name, "expected": expected, "found": value})
        bad = [s for s in copies if found[s.name] != expected]
        good = next((s for s in copies if found[s.name] == expected), None)
        if repair and bad and good is not None:
            for store in bad:
                if _repair(store, good, key, expected):
                    report.repaired.append({"key": key, "copy": store.name, "from": good.name})
                    events.append(_event(key, store.name, good.name))
    with services.sessions() as session:
        session.add_all(events)
        audit_log.append(
            session,
            actor,
            audit_log.AuditAction.AUDIT,
            "all" if sample is None else f"sample:{sample}",
            {
                "checked": report.checked,
                "ok": report.ok,
                "corrupted": len(report.corrupted),
                "missing": len(report.missing),
                "repaired": len(report.repaired),
            },
        )
        for item in report.repaired:
            audit_log.append(
                session, actor, audit_log.AuditAction.REPAIR, item["key"], {"copy": item["copy"], "from": item["from"]}
            )
        session.commit()
    return report


def _repair(bad: ObjectStore, good: ObjectStore, key: str, expected: str) -> bool:
    try:
        until = _retention_of(good, key)
        with good.open(key) as stream:
            bad.repair(key, stream, expected, retain_until=until)
    except StorageError:
        return False
    return bad.hash_object(key) == expected


def _retention_of(good: ObjectStore, key: str) -> datetime | None:
    """The lock end of the good copy's object, so the repaired one is locked as long (0012);
    None (the store's default) when the good copy keeps no locks."""
    if not isinstance(good, LockingStore):
        return None
    try:
        return good.lock_state(key).retain_until
    except OperationNotSupported:
        return None


def _event(key: str, copy: str, source: str) -> Event:
    return Event(
        event_id=str(uuid.uuid4()),
        object_type="object",
        object_ref=key,
        event_type="repair",
        outcome=EventOutcome.SUCCESS,
        agent="archive-service",
        detail=f"Khôi phục bản '{copy}' từ bản '{source}' sau khi kiểm tra mã băm / restored copy '{copy}' "
        f"from copy '{source}' after a fixity check",
        at=datetime.now(UTC),
    )


def report_html(report: AuditReport, at: datetime) -> str:
    """A printable report for auditors, Vietnamese first: the list of faulty files with their
    location that the Circular 02/2019 checking procedure asks for."""

    def rows(items: list[dict[str, str]], *columns: str) -> str:
        if not items:
            return '<tr><td colspan="9">Không có / none</td></tr>'
        return "".join(
            "<tr>" + "".join(f"<td>{html.escape(item.get(c, ''))}</td>" for c in columns) + "</tr>" for item in items
        )

    verdict = (
        "ĐẠT — không còn tệp hỏng hoặc thiếu / PASSED"
        if report.clean
        else "KHÔNG ĐẠT — còn tệp hỏng hoặc thiếu / FAILED"
    )
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>Biên bản kiểm tra toàn vẹn / Fixity audit report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:4px;font-size:12px;text-align:left}}</style></head><body>
<h1>Biên bản kiểm tra toàn vẹn tài liệu lưu trữ điện tử</h1>
<p><em>Fixity audit report</em> — {html.escape(at.isoformat(timespec="seconds"))}</p>
<p>Kết luận / verdict: <strong>{verdict}</strong></p>
<p>Số cặp (đối tượng, bản) đã kiểm tra / (object, copy) pairs checked: {report.checked};
tốt / ok: {report.ok}; hỏng / corrupted: {len(report.corrupted)}; thiếu / missing: {len(report.missing)};
đã khôi phục / repaired: {len(report.repaired)}</p>
<h2>Tệp bị hỏng / Corrupted files</h2>
<table><tr><th>Khóa / key</th><th>Bản / copy</th><th>SHA-256 đúng / expected</th><th>SHA-256 tìm thấy / found</th></tr>
{rows(report.corrupted, "key", "copy", "expected", "found")}</table>
<h2>Tệp bị thiếu / Missing files</h2>
<table><tr><th>Khóa / key</th><th>Bản / copy</th></tr>{rows(report.missing, "key", "copy")}</table>
<h2>Đã khôi phục / Repaired</h2>
<table><tr><th>Khóa / key</th><th>Bản / copy</th><th>Từ bản / from</th></tr>
{rows(report.repaired, "key", "copy", "from")}</table>
</body></html>
"""
