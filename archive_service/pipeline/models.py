"""Frozen models passed between steps; each step's output is persisted as JSON with its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class EventRecord(Frozen):
    """A PREMIS-style event, written to the catalog and into the AIP's PREMIS file."""

    event_id: str
    event_type: str
    at: datetime
    detail: str
    outcome: str
    agent: str
    objects: tuple[str, ...] = ()


class StagedFileModel(Frozen):
    path: str
    size: int
    sha256: str


class UnpackOutput(Frozen):
    package_id: str
    digest: str
    files: tuple[StagedFileModel, ...]


class PackageFileModel(Frozen):
    path: str
    sha256: str
    size: int
    mimetype: str | None
    extracted_from: str | None = None  # an edXML attachment: the packet's path


class ItemModel(Frozen):
    kind: str
    metadata_path: str
    values: dict[str, str]
    files: tuple[PackageFileModel, ...]

    @property
    def code(self) -> str:
        return self.values.get("DocCode") or self.values.get("ArchivesNumber") or self.metadata_path


class ValidateOutput(Frozen):
    profile: str
    record_status: str
    creator_name: str
    creator_org: str
    dossier_values: dict[str, str]
    items: tuple[ItemModel, ...]
    findings: tuple[dict[str, Any], ...]
    aip_version: int
    events: tuple[EventRecord, ...]

    @property
    def dossier_code(self) -> str:
        return self.dossier_values.get("FileCode", "")


class FormatModel(Frozen):
    """A file's format for PREMIS: `identified_by` is the tool, version and signature set."""

    mimetype: str
    format_name: str
    puid: str
    format_version: str = ""
    identified_by: str = ""
    basis: str = ""


class IdentifyOutput(Frozen):
    formats: dict[str, FormatModel]
    events: tuple[EventRecord, ...]


class CopyModel(Frozen):
    """A verified preservation copy of one original file, kept in the work dir until stored."""

    original_path: str
    copy_path: str
    sha256: str
    size: int
    conformance: str
    puid: str
    text: str


class PreserveOutput(Frozen):
    copies: tuple[CopyModel, ...]
    findings: tuple[dict[str, Any], ...]
    events: tuple[EventRecord, ...]


class AipObjectModel(Frozen):
    aip_path: str
    source: str
    sha256: str
    size: int


class BuildAipOutput(Frozen):
    """The sealed AIP: its objects, and the events and signed receipt it records for the catalog."""

    aip_id: str
    objects: tuple[AipObjectModel, ...]
    events: tuple[EventRecord, ...]
    receipt: dict[str, Any]
    sealed_at: datetime


class StoreOutput(Frozen):
    keys: tuple[str, ...]
    events: tuple[EventRecord, ...]


class CatalogOutput(Frozen):
    dossier_id: int


class IndexOutput(Frozen):
    indexed: int
