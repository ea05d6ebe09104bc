"""The XML backup restores identically on both catalog backends, and new rows still get fresh ids."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from archive_service import audit_log
from archive_service.catalog.models import Base, Fonds, User
from archive_service.metadata_backup import export_catalog, import_catalog


def test_restore_then_insert(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        session.add_all([Fonds(code="000.00.00.G09", name="Bộ Nội vụ"), User(name="lan", role="archivist")])
        audit_log.append(session, "operator", audit_log.AuditAction.USER_ADD, "lan", {"role": "archivist"})
        session.commit()
        backup = tmp_path / "catalog.xml"
        counts = export_catalog(session, backup)
        assert counts["fonds"] == 1 and counts["audit_entry"] == 1
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        session.commit()
        assert import_catalog(session, backup, max_bytes=10_000_000) == counts
        assert session.scalars(select(Fonds.name)).all() == ["Bộ Nội vụ"]
        assert audit_log.verify(session).ok
        session.add(Fonds(code="000.00.00.H49", name="UBND tỉnh Quảng Ngãi"))
        audit_log.append(session, "operator", audit_log.AuditAction.USER_ADD, "minh", {})
        session.commit()
        assert audit_log.verify(session).ok
