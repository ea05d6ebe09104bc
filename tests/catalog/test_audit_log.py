"""The audit log on a real catalog (SQLite and PostgreSQL): chaining, tamper detection and
concurrent appends. The `engine` and `sessions` fixtures come from tests/catalog/conftest.py."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Engine, Executable, column, delete, func, insert, select, table, update
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from archive_service.audit_log import GENESIS_HASH, AuditAction, append, verify
from archive_service.catalog.db import make_engine, session_factory
from archive_service.catalog.models import AuditEntry, User


def fill(sessions: sessionmaker[Session], count: int, *, one_transaction: bool = False) -> None:
    def add(session: Session, i: int) -> None:
        details = {"i": i, "note": "Công văn số 12/UBND", "files": [f"a{i}.pdf"]}
        append(session, "quantri", AuditAction.READ, f"HS-{i:03d}", details)

    if one_transaction:
        with sessions.begin() as session:
            for i in range(count):
                add(session, i)
        return
    for i in range(count):
        with sessions.begin() as session:
            add(session, i)


# The table without the ORM's types, so tampering writes exactly the raw values given.
RAW = table("audit_entry", *(column(c.name) for c in AuditEntry.__table__.columns))


def change(seq: int, /, **values: object) -> Executable:
    return update(RAW).where(RAW.c.seq == seq).values(values)


def remove(seq: int) -> Executable:
    return delete(RAW).where(RAW.c.seq == seq)


def tamper(engine: Engine, *statements: Executable) -> None:
    """Write raw values behind the application's back. PostgreSQL's own types refuse some of them
    (`json` checks its syntax), so on PostgreSQL such an entry cannot exist: the test is skipped."""
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(statement)
    except DataError:
        if engine.dialect.name != "postgresql":
            raise
        pytest.skip("PostgreSQL refuses to store this value, so no entry can hold it")


def check(sessions: sessionmaker[Session]) -> tuple[bool, int | None, int]:
    with sessions() as session:
        result = verify(session)
    assert (result.reason_vi is None) is result.ok
    assert (result.reason_en is None) is result.ok
    return result.ok, result.first_bad_seq, result.checked


def test_fifty_entries_form_a_valid_chain(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 50)
    assert check(sessions) == (True, None, 50)
    with sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == list(range(1, 51))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))


def test_empty_log_verifies(sessions: sessionmaker[Session]) -> None:
    assert check(sessions) == (True, None, 0)


def test_entry_hash_follows_the_documented_formula(sessions: sessionmaker[Session]) -> None:
    """An outside verifier needs only sha256 and an RFC 8785 library."""
    fill(sessions, 1)
    with sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
    at = entry.at.replace(tzinfo=UTC).isoformat(timespec="microseconds")
    assert at.endswith("+00:00")
    content: dict[str, Any] = {
        "seq": 1,
        "at": at,
        "actor": "quantri",
        "action": "read",
        "target": "HS-000",
        "details": {"i": 0, "note": "Công văn số 12/UBND", "files": ["a0.pdf"]},
        "prev_hash": GENESIS_HASH,
    }
    assert entry.entry_hash == hashlib.sha256(rfc8785.dumps(content)).hexdigest()


@pytest.mark.parametrize(
    "values",
    [
        {"details": '{"i": 999, "note": "x", "files": []}'},
        {"actor": "ke_gian"},
        {"action": "download"},
        {"target": "HS-999"},
        {"at": "2020-01-01 00:00:00.000000"},
        {"prev_hash": "1" * 64},
        {"entry_hash": "2" * 64},
        {"details": "not json"},
        {"details": "[1, 2]"},
        {"at": "yesterday"},
        {"at": "infinity"},
        {"at": "0001-01-01 00:00:00+14"},
    ],
)
def test_a_changed_entry_is_reported(
    engine: Engine, sessions: sessionmaker[Session], values: dict[str, str]
) -> None:
    fill(sessions, 50)
    tamper(engine, change(17, **values))
    assert check(sessions) == (False, 17, 17)


@pytest.mark.parametrize("removed", [1, 30])
def test_a_removed_entry_is_reported(
    engine: Engine, sessions: sessionmaker[Session], removed: int
) -> None:
    fill(sessions, 50)
    tamper(engine, remove(removed))
    assert check(sessions)[:2] == (False, removed)


def test_removal_hidden_by_renumbering_is_reported(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    fill(sessions, 50)
    tamper(
        engine,
        remove(30),
        *(change(seq, seq=seq - 1) for seq in range(31, 51)),
    )
    assert check(sessions)[:2] == (False, 30)


def test_swapped_entries_are_reported(engine: Engine, sessions: sessionmaker[Session]) -> None:
    fill(sessions, 50)
    tamper(
        engine,
        change(10, seq=-1),
        change(20, seq=10),
        change(-1, seq=20),
    )
    assert check(sessions)[:2] == (False, 10)


def test_an_entry_moved_to_the_end_is_reported(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    fill(sessions, 50)
    tamper(engine, change(10, seq=51))
    assert check(sessions)[:2] == (False, 10)


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([change(2001, target="x")], (False, 2001, 2001)),
        ([change(1500, at="yesterday")], (False, 1500, 1500)),
        ([change(1200, actor="x"), change(1500, details="not json")], (False, 1200, 1200)),
        ([remove(1499), change(1500, details="not json")], (False, 1499, 1499)),
        ([change(1200, actor="x"), change(1500, at="infinity")], (False, 1200, 1200)),
        ([remove(1499), change(1500, at="infinity")], (False, 1499, 1499)),
        ([change(1500, at="infinity")], (False, 1500, 1500)),
    ],
)
def test_tampering_past_the_first_batch_is_found(
    engine: Engine,
    sessions: sessionmaker[Session],
    statements: list[Executable],
    expected: tuple[bool, int, int],
) -> None:
    """Verification streams in batches of 1000; the chain must carry across batch boundaries,
    and an entry that no longer loads must be named even though its whole batch fails."""
    fill(sessions, 2100, one_transaction=True)
    assert check(sessions) == (True, None, 2100)
    tamper(engine, *statements)
    assert check(sessions) == expected


def test_an_inserted_entry_is_reported(engine: Engine, sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    forged = {
        "seq": 0,
        "at": "2020-01-01 00:00:00.000000",
        "actor": "x",
        "action": "read",
        "target": "",
        "details": "{}",
        "prev_hash": GENESIS_HASH,
        "entry_hash": "3" * 64,
    }
    tamper(engine, insert(RAW).values(forged))
    assert check(sessions) == (False, 0, 1)


def test_append_is_atomic_with_the_callers_writes(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add(User(name="lan", role="archivist"))
        append(session, "quantri", AuditAction.USER_ADD, "lan", {"role": "archivist"})
        session.rollback()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    with sessions.begin() as session:
        session.add(User(name="lan", role="archivist"))
        entry = append(session, "quantri", AuditAction.USER_ADD, "lan", {"role": "archivist"})
        assert entry.seq == 1
    with sessions() as session:
        assert session.scalar(select(User.name)) == "lan"
        assert session.scalar(select(AuditEntry.action)) == "user_add"
    assert check(sessions) == (True, None, 1)


def test_details_are_stored_as_they_were_hashed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        append(session, "quantri", "search", "", {"query": ("lưu trữ", 2019), "score": 1.0})
    with sessions() as session:
        assert session.scalar(select(AuditEntry.details)) == {
            "query": ["lưu trữ", 2019],
            "score": 1,
        }
    assert check(sessions) == (True, None, 1)


@pytest.mark.parametrize(
    "details",
    [{"at": datetime.now(UTC)}, {"n": float("nan")}, {"big": 2**60}, {"set": {1, 2}}],
)
def test_details_that_are_not_plain_json_are_refused(
    sessions: sessionmaker[Session], details: dict[str, object]
) -> None:
    with sessions() as session, pytest.raises(ValueError):
        append(session, "quantri", AuditAction.READ, "HS-1", details)


def _append_many(
    url: str, worker: int, count: int, start: multiprocessing.synchronize.Event
) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    start.wait()
    for i in range(count):
        with sessions.begin() as session:
            append(session, f"worker-{worker}", AuditAction.INTAKE, f"T-{worker}-{i}")
    engine.dispose()


@pytest.mark.slow
def test_concurrent_appends_from_four_processes_keep_one_chain(
    catalog_url: str, sessions: sessionmaker[Session]
) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_append_many, args=(catalog_url, worker, 25, start))
        for worker in range(4)
    ]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=120)
    assert [process.exitcode for process in workers] == [0, 0, 0, 0]

    with sessions() as session:
        seqs = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
        per_worker = dict(
            session.execute(select(AuditEntry.actor, func.count()).group_by(AuditEntry.actor)).all()
        )
    assert seqs == list(range(1, 101))
    assert per_worker == {f"worker-{w}": 25 for w in range(4)}
    assert check(sessions) == (True, None, 100)
