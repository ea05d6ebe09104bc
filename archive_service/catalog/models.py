"""SQLAlchemy 2 models of the catalog. Schema changes go through Alembic migrations only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that writes UTC and reads back aware UTC datetimes on every backend.

    SQLite has no time zone type: SQLAlchemy stores the wall time and drops the offset, so an
    aware value in another zone (e.g. +07:00) would come back shifted and naive, while PostgreSQL
    keeps the instant. Values are moved to UTC before they are written (naive ones are taken as
    UTC already) and come back aware, so both backends store and return the same thing.
    The column type in the database, and so in the migrations, is plain `DateTime(timezone=True)`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _as_utc(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime(),
    }


class Fonds(Base):
    """A fonds (phông lưu trữ), identified by the `OrganId` of the dossiers that belong to it."""

    __tablename__ = "fonds"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    dossiers: Mapped[list[Dossier]] = relationship(back_populates="fonds")


class Dossier(Base):
    """A dossier (hồ sơ) as received, with the AIP that holds it. New metadata = new AIP version."""

    __tablename__ = "dossier"
    __table_args__ = (UniqueConstraint("code", "aip_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    fonds_id: Mapped[int] = mapped_column(ForeignKey("fonds.id"))
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfer.id"))
    code: Mapped[str] = mapped_column(String(120), index=True)
    title: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(20))
    access_regime: Mapped[str] = mapped_column(String(50))
    maintenance: Mapped[str] = mapped_column(String(50), default="")
    year: Mapped[int | None] = mapped_column(default=None)
    start_date: Mapped[str | None] = mapped_column(String(10), default=None)
    end_date: Mapped[str | None] = mapped_column(String(10), default=None)
    aip_id: Mapped[str] = mapped_column(String(80))
    aip_version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    metadata_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fonds: Mapped[Fonds] = relationship(back_populates="dossiers")
    documents: Mapped[list[Document]] = relationship(back_populates="dossier", order_by="Document.ordinal")


class Document(Base):
    """A document (văn bản), photo or audio/video record of a dossier."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("dossier_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(120), index=True)
    ordinal: Mapped[int | None] = mapped_column(default=None)
    type_name: Mapped[str] = mapped_column(String(100), default="")
    code_number: Mapped[str] = mapped_column(String(20), default="")
    code_notation: Mapped[str] = mapped_column(String(50), default="")
    issued_date: Mapped[str | None] = mapped_column(String(10), default=None)
    organ_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    access_regime: Mapped[str] = mapped_column(String(50))
    effective_access: Mapped[str] = mapped_column(String(50))
    confidence_level: Mapped[str] = mapped_column(String(30), default="")
    page_amount: Mapped[int | None] = mapped_column(default=None)
    metadata_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dossier: Mapped[Dossier] = relationship(back_populates="documents")
    files: Mapped[list[StoredFile]] = relationship(back_populates="document")


class StoredFile(Base):
    """One stored object of a document: an original (bit for bit) or a preservation copy."""

    __tablename__ = "file"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(500))
    object_key: Mapped[str] = mapped_column(String(1000), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mimetype: Mapped[str] = mapped_column(String(120), default="")
    format_name: Mapped[str] = mapped_column(String(200), default="")
    puid: Mapped[str] = mapped_column(String(30), default="")
    text_content: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    document: Mapped[Document] = relationship(back_populates="files")


class Transfer(Base):
    """One submission of a package, from receipt to its final state, with every finding."""

    __tablename__ = "transfer"
    __table_args__ = (UniqueConstraint("package_id", "package_digest", name="uq_transfer_package"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    package_id: Mapped[str] = mapped_column(String(200), index=True)
    package_digest: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    submitter: Mapped[str] = mapped_column(String(120), default="")
    submitter_org: Mapped[str | None] = mapped_column(String(64), default=None)
    profile: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    retryable: Mapped[bool] = mapped_column(default=False)
    source_path: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[list[Any]] = mapped_column(default=list)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    steps: Mapped[list[TransferStep]] = relationship(back_populates="transfer", order_by="TransferStep.id")


class TransferStep(Base):
    """The persisted state of one pipeline step of a transfer (input and output models as JSON)."""

    __tablename__ = "transfer_step"
    __table_args__ = (UniqueConstraint("transfer_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfer.id"))
    name: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    transfer: Mapped[Transfer] = relationship(back_populates="steps")


class Event(Base):
    """A PREMIS-style event: what happened to which object, when, by which tool, with what outcome."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_object", "object_type", "object_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfer.id"), default=None)
    object_type: Mapped[str] = mapped_column(String(20))
    object_ref: Mapped[str] = mapped_column(String(1000))
    event_type: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person or system account with one role (`submitter`, `archivist`, `auditor`, `admin`)."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    organisation: Mapped[str | None] = mapped_column(String(64), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user")


class RoleGrant(Base):
    """Lets a user see records of one access regime in one fonds."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "fonds_code", "access_regime"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    fonds_code: Mapped[str] = mapped_column(String(64))
    access_regime: Mapped[str] = mapped_column(String(50))
    user: Mapped[User] = relationship(back_populates="grants")


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit log."""

    __tablename__ = "audit_entry"
    seq: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(1000), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class StoredObject(Base):
    """Every object of every AIP, with the SHA-256 the audit compares each copy against."""

    __tablename__ = "stored_object"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(1000), unique=True)
    aip_id: Mapped[str] = mapped_column(String(80), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


class IndexOutbox(Base):
    """Records to (re)index, written in the same transaction as the catalog change."""

    __tablename__ = "index_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key bound to an organisation identifier; only its hash is stored."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organisation: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(default=False)
