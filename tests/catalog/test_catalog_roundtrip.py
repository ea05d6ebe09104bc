"""Every kind of catalog record is stored and read back unchanged, Vietnamese text and JSON included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.models import Document, Dossier, Event, Fonds, StoredFile, Transfer, TransferStep
from archive_service.states import TransferStatus

TITLE = "Hồ sơ về việc phê duyệt quy hoạch sử dụng đất huyện Đồng Văn, tỉnh Hà Giang năm 2019"
SUBJECT = "Quyết định số 1234/QĐ-UBND ngày 05/11/2019 của Ủy ban nhân dân tỉnh Hà Giang"
METADATA: dict[str, Any] = {
    "FileCode": "G09.42.05.2019.01",
    "Title": TITLE,
    "Maintenance": "Vĩnh viễn",
    "KeywordList": ["quy hoạch", "đất đai", "Đồng Văn"],
    "PageTotal": 42,
    "Nested": {"ghi chú": "Bản gốc có dấu đỏ", "empty": None, "ratio": 0.5, "ok": True},
}
HANOI = timezone(timedelta(hours=7))


def utc(moment: datetime) -> datetime:
    """A datetime read back: aware and in UTC on both backends (`models.UTCDateTime`)."""
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    return moment


def add_dossier(session: Session, *, status: str = TransferStatus.ACCEPTED) -> Dossier:
    received = datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=HANOI)
    transfer = Transfer(
        id="T-0001",
        package_id="urn:uuid:9f3c1f0e-0000-4000-8000-000000000001",
        package_digest="ab" * 32,
        idempotency_key="khoá-1",
        submitter="Nguyễn Thị Lan",
        submitter_org="G09",
        profile="tt02_2019",
        status=status,
        source_path="/var/lib/archive/nhận/gói 1.zip",
        findings=[{"rule": "meta.title", "message_vi": "Thiếu tiêu đề hồ sơ", "severity": "warning"}],
        receipt={"signed": True, "by": "Trung tâm Lưu trữ lịch sử"},
        received_at=received,
    )
    fonds = Fonds(code="G09", name="Ủy ban nhân dân tỉnh Hà Giang")
    dossier = Dossier(
        fonds=fonds,
        transfer_id=transfer.id,
        code="G09.42.05.2019.01",
        title=TITLE,
        profile="tt02_2019",
        access_regime="Công khai",
        maintenance="Vĩnh viễn",
        year=2019,
        start_date="05/11/2019",
        end_date="31/12/2019",
        aip_id="aip-9f3c1f0e",
        metadata_values=METADATA,
    )
    document = Document(
        dossier=dossier,
        kind="text",
        code="G09.42.05.2019.01.001",
        ordinal=1,
        type_name="Quyết định",
        code_number="1234",
        code_notation="QĐ-UBND",
        issued_date="05/11/2019",
        organ_name="Ủy ban nhân dân tỉnh Hà Giang",
        subject=SUBJECT,
        access_regime="Công khai",
        effective_access="Công khai",
        confidence_level="Thường",
        page_amount=3,
        metadata_values={"Autograph": "Chủ tịch Nguyễn Văn Sơn", "Language": ["vi"]},
    )
    stored = StoredFile(
        document=document,
        role="original",
        name="Quyết định 1234.pdf",
        object_key="aip-9f3c1f0e/v1/representations/original/Quyết định 1234.pdf",
        sha256="cd" * 32,
        size=5 * 1024**3,  # beyond 32 bits
        mimetype="application/pdf",
        format_name="Acrobat PDF 1.7",
        puid="fmt/276",
        text_content="ỦY BAN NHÂN DÂN TỈNH HÀ GIANG\nQUYẾT ĐỊNH\nPhê duyệt quy hoạch…",
    )
    session.add(transfer)
    session.flush()  # no relationship orders the transfer before the rows that refer to it
    session.add_all([fonds, dossier, document, stored])
    session.add(TransferStep(transfer_id=transfer.id, name="validate", version="1", status="done",
                             output={"findings": [], "hồ sơ": 1}))
    session.add(Event(event_id="ev-1", transfer_id=transfer.id, object_type="file",
                      object_ref=stored.object_key, event_type="ingestion", outcome="success",
                      detail="Đã tiếp nhận và kiểm tra mã băm SHA-256", agent="archive-service 0.1.0",
                      at=received + timedelta(seconds=3)))
    return dossier


def test_every_record_reads_back_unchanged(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_dossier(session)
    with sessions() as session:
        transfer = session.get(Transfer, "T-0001")
        assert transfer is not None
        assert transfer.submitter == "Nguyễn Thị Lan"
        assert transfer.idempotency_key == "khoá-1"
        assert transfer.source_path == "/var/lib/archive/nhận/gói 1.zip"
        assert transfer.findings == [{"rule": "meta.title", "message_vi": "Thiếu tiêu đề hồ sơ", "severity": "warning"}]
        assert transfer.receipt == {"signed": True, "by": "Trung tâm Lưu trữ lịch sử"}
        assert transfer.error is None
        assert utc(transfer.received_at) == datetime(2026, 11, 23, 1, 30, 15, 123456, tzinfo=UTC)
        assert transfer.finished_at is None
        assert [(s.name, s.output) for s in transfer.steps] == [("validate", {"findings": [], "hồ sơ": 1})]

        dossier = session.scalars(select(Dossier)).one()
        assert dossier.fonds.name == "Ủy ban nhân dân tỉnh Hà Giang"
        assert (dossier.title, dossier.access_regime, dossier.maintenance) == (TITLE, "Công khai", "Vĩnh viễn")
        assert dossier.metadata_values == METADATA
        assert dossier.is_current is True
        assert dossier.aip_version == 1
        assert abs(utc(dossier.created_at) - datetime.now(UTC)) < timedelta(minutes=5)

        [document] = dossier.documents
        assert document.subject == SUBJECT
        assert document.code_notation == "QĐ-UBND"
        assert document.metadata_values == {"Autograph": "Chủ tịch Nguyễn Văn Sơn", "Language": ["vi"]}
        [stored] = document.files
        assert stored.size == 5 * 1024**3
        assert stored.name == "Quyết định 1234.pdf"
        assert stored.text_content is not None
        assert stored.text_content.startswith("ỦY BAN NHÂN DÂN TỈNH HÀ GIANG")

        event = session.scalars(select(Event)).one()
        assert event.detail == "Đã tiếp nhận và kiểm tra mã băm SHA-256"
        assert event.object_ref == stored.object_key
        assert utc(event.at) == datetime(2026, 11, 23, 1, 30, 18, 123456, tzinfo=UTC)


def test_search_on_vietnamese_text_matches_exactly(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_dossier(session)
    with sessions() as session:
        assert session.scalar(select(Dossier.code).where(Dossier.maintenance == "Vĩnh viễn")) == "G09.42.05.2019.01"
        assert session.scalar(select(Dossier.code).where(Dossier.maintenance == "Vinh vien")) is None
        assert session.scalar(select(Document.code).where(Document.subject.like("%Hà Giang%"))) is not None


def test_constraints_hold(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_dossier(session)
    with sessions() as session, pytest.raises(IntegrityError):
        session.add(Fonds(code="G09", name="trùng mã"))
        session.commit()
    with sessions() as session, pytest.raises(IntegrityError):  # foreign keys are enforced on both
        session.add(Event(event_id="ev-2", transfer_id="T-none", object_type="file", object_ref="x",
                          event_type="ingestion", outcome="success"))
        session.commit()


def test_string_lengths_are_counted_in_characters(sessions: sessionmaker[Session]) -> None:
    """VARCHAR(n) holds n Vietnamese characters (PostgreSQL counts characters, not UTF-8 bytes)."""
    name = ("Ủy ban nhân dân tỉnh Hà Giang " * 11)[:300]  # 300 characters, about 400 bytes in UTF-8
    assert len(name) == 300 < len(name.encode())
    with sessions.begin() as session:
        session.add(Fonds(code="G10", name=name))
    with sessions() as session:
        assert session.scalar(select(Fonds.name).where(Fonds.code == "G10")) == name
