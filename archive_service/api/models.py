"""Request and response bodies of the HTTP API, so `/openapi.json` describes every route fully.

Field names and shapes are those of interfaces.md (the same as the CLI's `--json` output).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ErrorBody(BaseModel):
    """Every error: a stable code, a message in Vietnamese and in English, and details."""

    code: str
    message_vi: str
    message_en: str
    details: list[Any] = Field(default_factory=list)


class FindingBody(BaseModel):
    """One finding of a check, with the rule and the clause it comes from."""

    rule: str
    severity: Literal["error", "warning", "info"]
    object: str
    path: str
    field: str | None = None
    message_vi: str
    message_en: str
    clause: str


class TransferAccepted(BaseModel):
    """Answer to an upload: where to follow the transfer."""

    transfer_id: str
    status_url: str


class ReceiptFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["original", "preservation"]
    name: str
    sha256: str
    size: int
    format: str | None = None
    puid: str | None = None


class ReceiptDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    files: list[ReceiptFile]


class ReceiptDossier(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    aip_id: str


class Receipt(BaseModel):
    """The signed receipt of an accepted transfer (verify it with `archive receipt verify`).

    Returned exactly as signed: extra fields are kept so the signature still verifies.
    """

    model_config = ConfigDict(extra="allow")

    transfer_id: str
    status: str
    profile: str
    key_id: str
    dossier: ReceiptDossier
    documents: list[ReceiptDocument]
    counts: dict[str, int]
    findings: list[FindingBody]
    received_at: str
    signature: str


class TransferState(BaseModel):
    """Where a transfer stands; `receipt` once accepted, `findings` whenever there are some."""

    transfer_id: str
    status: Literal["queued", "processing", "accepted", "rejected", "failed", "tested"]
    retryable: bool
    findings: list[FindingBody]
    receipt: Receipt | None = None
    error: ErrorBody | None = None
    same_as: str | None = Field(
        default=None, description="the earlier transfer of the same package this upload resolved to"
    )


class ValidationBody(BaseModel):
    """The verdict of `POST /validate` (the same as `archive validate --json`)."""

    profile: str
    status: Literal["valid", "invalid"]
    findings: list[FindingBody]


class SearchHit(BaseModel):
    kind: Literal["dossier", "document"]
    code: str
    title: str
    score: float
    highlight: str = Field(description="HTML: escaped text with the matched syllables in <mark>")


class SearchPage(BaseModel):
    """One page of hits over the records the caller may see; `total` and facets count only those."""

    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


class FileBody(BaseModel):
    role: Literal["original", "preservation"]
    name: str
    sha256: str
    size: int
    format: str
    format_name: str
    puid: str
    key: str


class EventBody(BaseModel):
    type: str
    at: str
    outcome: str
    detail: str
    agent: str
    objects: str


class DocumentBody(BaseModel):
    """A document with its metadata as received, its files with fixity, and its events."""

    kind: str
    code: str
    title: str
    access_regime: str
    metadata: dict[str, Any]
    files: list[FileBody]
    dossier: str | None = None
    events: list[EventBody] = Field(default_factory=list)


class DossierBody(BaseModel):
    """A dossier with its metadata, the documents the caller may see, and its events."""

    kind: Literal["dossier"]
    code: str
    title: str
    fonds: str
    access_regime: str
    aip_id: str
    aip_version: int
    metadata: dict[str, Any]
    documents: list[DocumentBody]
    events: list[EventBody]


class AuditRequest(BaseModel):
    """A fixity audit of every object (or a random sample) in every copy."""

    model_config = ConfigDict(extra="forbid")

    sample: int | None = Field(
        default=None, gt=0, le=1_000_000_000, description="check N random objects instead of all"
    )
    repair: bool = Field(default=False, description="restore bad copies from a good one (administrators only)")


class AuditStarted(BaseModel):
    audit_id: str
    status_url: str


class AuditReportBody(BaseModel):
    """`checked` and `ok` count (object, copy) pairs, as in `archive audit --json`."""

    checked: int
    ok: int
    corrupted: list[dict[str, str]]
    missing: list[dict[str, str]]
    repaired: list[dict[str, str]]


class AuditRun(BaseModel):
    audit_id: str
    status: Literal["running", "done", "failed"]
    requested_by: str
    sample: int | None
    repair: bool
    started_at: str
    finished_at: str | None = None
    clean: bool | None = Field(default=None, description="nothing left corrupted or missing")
    report: AuditReportBody | None = None
    error: ErrorBody | None = None


class AuditLogEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AuditLogPage(BaseModel):
    total: int
    page: int
    page_size: int
    entries: list[AuditLogEntry]


class LogVerification(BaseModel):
    """The hash chain's verdict, as in `archive log verify --json`."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason_vi: str | None
    reason_en: str | None


class ExportRequest(BaseModel):
    """Which records go into the DIP: dossier codes (`FileCode`) or document codes (`DocCode`)."""

    model_config = ConfigDict(extra="forbid")

    codes: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=100
    )
    originals: bool = Field(default=False, description="add the originals beside the preservation copies")


class ExportBody(BaseModel):
    """A DIP ready to fetch from `download_url` until `expires_at`; it lists only what the caller may see."""

    export_id: str
    requested_by: str
    created_at: str
    expires_at: str
    originals: bool
    dossiers: list[str] = Field(description="dossiers whose metadata is in the DIP")
    documents: list[str]
    files: int = Field(description="files in the ZIP, the manifest and the DIP METS included")
    size: int
    sha256: str = Field(description="SHA-256 of the ZIP")
    download_url: str
