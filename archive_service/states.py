"""The states and codes the archive shows to users, in one place."""

from __future__ import annotations

from enum import StrEnum


class TransferStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    TESTED = "tested"  # a RECORDSTATUS=TEST package: validated, nothing stored (docs/decisions/0002)


class StepStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    TESTED = "tested"  # a RECORDSTATUS=TEST package: validated, nothing stored (docs/decisions/0002)


class FileRole(StrEnum):
    ORIGINAL = "original"
    PRESERVATION = "preservation"


class Role(StrEnum):
    SUBMITTER = "submitter"
    ARCHIVIST = "archivist"
    AUDITOR = "auditor"
    ADMIN = "admin"


class EventOutcome(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
