"""The append-only, hash-chained audit log in the catalog (spec quality.md, Security).

Every entry carries the hash of the one before it, so changing, removing or reordering an entry
breaks the chain at that point and `verify` (`archive log verify`) names it. An entry's hash is

    sha256(RFC 8785 JSON of {"seq", "at", "actor", "action", "target", "details", "prev_hash"})

in lowercase hex, where `at` is ISO 8601 in UTC with microseconds
(`2025-01-31T08:00:00.000000+00:00`) and the first entry's `prev_hash` is 64 zeros: anyone can
recompute it with any RFC 8785 library.

A hash chain alone cannot show that the newest entries were cut off (the shorter log is still a
valid chain), nor stop someone who rewrites the whole table and recomputes every hash: that needs
the chain's head kept elsewhere (a signed checkpoint).

`details` is stored in the catalog and readable by auditors: it must never hold a secret (passwords,
API keys, tokens, private keys), only identifiers, counts and outcomes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, func, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from archive_service.catalog.models import AuditEntry
from archive_service.signing import canonical_json

GENESIS_HASH = "0" * 64
# Any fixed bigint not used by another advisory lock of the catalog database.
_POSTGRES_APPEND_LOCK = 0x61726368_6C6F6731
_VERIFY_BATCH = 1000
_HASHED_FIELDS = ("seq", "at", "actor", "action", "target", "details", "prev_hash")
# How a stored value that no longer loads shows: SQLite's text fails to parse in SQLAlchemy
# (ValueError), PostgreSQL's `infinity` or BC timestamps fail in the driver (DataError), and a
# date at the edge of the calendar cannot be moved to UTC (OverflowError).
_UNLOADABLE = (ValueError, OverflowError, DataError)


class AuditAction(StrEnum):
    """What an entry records; the value is stored in `audit_entry.action`."""

    INTAKE = "intake"
    VALIDATE = "validate"
    READ = "read"
    DOWNLOAD = "download"
    EXPORT = "export"
    EXPORT_METADATA = "export_metadata"
    SEARCH = "search"
    AUDIT = "audit"
    REPAIR = "repair"
    REINDEX = "reindex"
    REBUILD_CATALOG = "rebuild_catalog"
    SIGN_IN = "sign_in"
    USER_ADD = "user_add"
    USER_GRANT = "user_grant"
    API_KEY_CREATE = "api_key_create"
    KEY_CREATE = "key_create"
    KEY_ROTATE = "key_rotate"
    KEY_EXPORT = "key_export"
    KEY_IMPORT = "key_import"
    LOG_VERIFY = "log_verify"
    RECEIPT_VERIFY = "receipt_verify"
    LEGAL_HOLD = "legal_hold"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify`: `checked` counts the entries read, the first bad one included."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason_vi: str | None = None
    reason_en: str | None = None


def append(
    session: Session,
    actor: str,
    action: str,
    target: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry at the end of the log, inside the caller's transaction; the caller commits.

    The append lock is taken first and held until that commit or rollback, so the entry is
    written if and only if the caller's other writes are, and concurrent writers (threads,
    workers, servers) queue up instead of forking the chain. Keep the transaction short: every
    other append waits for it.

    `details` must be plain JSON (a `ValueError` otherwise); it is stored exactly as it was hashed
    (e.g. a tuple becomes a list, `1.0` becomes `1`), so the entry verifies after a round trip.
    """
    stored_details: dict[str, Any] = json.loads(canonical_json(dict(details or {})))
    _lock_for_append(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.entry_hash) if last else (1, GENESIS_HASH)
    fields = {
        "seq": seq,
        "at": datetime.now(UTC),
        "actor": actor,
        "action": str(action),
        "target": target,
        "details": stored_details,
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**fields, entry_hash=entry_hash(fields))
    session.add(entry)
    session.flush()
    return entry


def verify(session: Session) -> VerifyResult:
    """Recompute the chain in `seq` order and stop at the first entry that does not fit.

    Reads plain rows in batches (not ORM objects, which the session could serve from memory
    instead of from the table), so memory stays constant however long the log is. A stored date
    or JSON value that no longer even loads fails its whole batch; the rest of the log is then
    read one row at a time to name that entry.
    """
    walk = _Walk()
    try:
        return _walk_on(session, walk, _VERIFY_BATCH)
    except _UNLOADABLE:
        pass
    try:
        return _walk_on(session, walk, 1)
    except _UNLOADABLE:
        return _unreadable(session, walk)


@dataclass
class _Walk:
    """How far `verify` got: the last good entry and what the next one must be."""

    checked: int = 0
    last_seq: int | None = None
    expected_seq: int = 1
    expected_prev: str = GENESIS_HASH

    def after_last(self, statement: Select[Any]) -> Select[Any]:
        if self.last_seq is None:
            return statement
        return statement.where(AuditEntry.seq > self.last_seq)


def _walk_on(session: Session, walk: _Walk, batch: int) -> VerifyResult:
    entries = walk.after_last(select(AuditEntry.__table__)).order_by(AuditEntry.seq)
    with session.execute(entries.execution_options(yield_per=batch)) as rows:
        for row in rows:
            walk.checked += 1
            problem = _problem(row, walk)
            if problem is not None:
                return _broken(walk.checked, *problem)
            walk.last_seq = row.seq
            walk.expected_seq = row.seq + 1
            walk.expected_prev = row.entry_hash
    return VerifyResult(ok=True, checked=walk.checked)


def _problem(row: Row[Any], walk: _Walk) -> tuple[int, str, str] | None:
    """What is wrong with `row` as the next entry: (seq to report, reason_vi, reason_en)."""
    if row.seq < walk.expected_seq:
        return (
            row.seq,
            f"Mục {row.seq} không thuộc chuỗi: đã bị chèn vào",
            f"Entry {row.seq} is not part of the chain: it was inserted",
        )
    if row.seq > walk.expected_seq:
        return _missing(walk.expected_seq, row.seq)
    try:
        recomputed = entry_hash(row._asdict())
    except (ValueError, OverflowError):  # details no longer plain JSON, `at` beyond UTC's range
        recomputed = None
    if recomputed != row.entry_hash:
        return _changed(row.seq)
    if row.prev_hash != walk.expected_prev:
        return (
            row.seq,
            f"Mục {row.seq} không nối tiếp mục trước: có mục bị xoá hoặc đổi thứ tự",
            f"Entry {row.seq} does not follow the previous entry: one was removed or reordered",
        )
    return None


def _unreadable(session: Session, walk: _Walk) -> VerifyResult:
    """The result when the row after the last good one cannot be loaded at all."""
    next_seq = session.scalar(walk.after_last(select(func.min(AuditEntry.seq))))
    walk.checked += 1
    if next_seq is not None and next_seq > walk.expected_seq:
        return _broken(walk.checked, *_missing(walk.expected_seq, next_seq))
    return _broken(walk.checked, *_changed(walk.expected_seq if next_seq is None else next_seq))


def _missing(seq: int, next_seq: int) -> tuple[int, str, str]:
    return (
        seq,
        f"Thiếu mục {seq} (mục kế tiếp là {next_seq}): đã bị xoá hoặc đánh số lại",
        f"Entry {seq} is missing (the next is {next_seq}): removed or renumbered",
    )


def _changed(seq: int) -> tuple[int, str, str]:
    return (
        seq,
        f"Mục {seq} đã bị sửa: mã băm không khớp với nội dung",
        f"Entry {seq} was changed: its hash does not match its content",
    )


def _broken(checked: int, seq: int, reason_vi: str, reason_en: str) -> VerifyResult:
    return VerifyResult(False, checked, seq, reason_vi, reason_en)


def _lock_for_append(session: Session) -> None:
    """Take the catalog-wide append lock, released when the caller's transaction ends.

    SQLite: pysqlite begins a (deferred) transaction only before the first write, so a write
    that changes nothing takes SQLite's write lock now, waiting on the busy timeout exactly like
    `BEGIN IMMEDIATE`, whether or not the caller has written already; the last entry is then read
    under that lock. PostgreSQL: a transaction-scoped advisory lock; at READ COMMITTED the next
    statement sees the entry the previous holder committed. Elsewhere the primary key on `seq`
    still refuses a second entry with the same number, so a race fails instead of forking.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("UPDATE audit_entry SET seq = seq WHERE 0 = 1"))
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_APPEND_LOCK})


def entry_hash(fields: Mapping[str, Any]) -> str:
    """The SHA-256 of an entry's canonical JSON; `at` may be a datetime or its ISO 8601 text."""
    content = {name: fields[name] for name in _HASHED_FIELDS}
    at = content["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    # SQLite hands back naive datetimes; every `at` is written in UTC.
    at_utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    content["at"] = at_utc.isoformat(timespec="microseconds")
    return hashlib.sha256(canonical_json(content)).hexdigest()
