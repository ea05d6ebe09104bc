"""The error hierarchy: every failure has a code, an HTTP status, a CLI exit code and two messages.

Exit codes are those of `interfaces.md`; they are turned into process exits in one place (`cli.py`)
and into HTTP responses in one exception handler (`api/app.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ingest_rules.findings import Finding


class ExitCode:
    """Exit codes of the `archive` CLI (spec interfaces.md)."""

    OK = 0
    UNEXPECTED = 1
    REFUSED = 2
    MISSING_TOOL = 3
    NOT_FOUND = 4
    CONFLICT = 5
    BACKEND_UNAVAILABLE = 6
    INTEGRITY = 7
    PRESERVATION_FAILED = 10


class ArchiveError(Exception):
    """Base of every error the archive reports to a user."""

    code: ClassVar[str] = "archive_error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = ExitCode.UNEXPECTED

    def __init__(self, message_vi: str, message_en: str, details: Sequence[Any] = ()) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.details = list(details)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with both messages, so an error raised in a worker process reaches its caller."""
        return type(self), (self.message_vi, self.message_en, self.details)

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body of the API and of `--json` CLI output."""
        return {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "details": [d.to_dict() if isinstance(d, Finding) else d for d in self.details],
        }


class InvalidPackageError(ArchiveError):
    """The package cannot be read at all (details: the findings that say why)."""

    code = "invalid_package"
    http_status = 400
    exit_code = ExitCode.REFUSED


class ValidationFailedError(ArchiveError):
    """The package was read but breaks rules; details hold every finding, not only the first."""

    code = "validation_failed"
    http_status = 422
    exit_code = ExitCode.REFUSED


class NotFoundError(ArchiveError):
    code = "not_found"
    http_status = 404
    exit_code = ExitCode.NOT_FOUND


class ForbiddenError(ArchiveError):
    code = "forbidden"
    http_status = 403
    exit_code = ExitCode.NOT_FOUND


class ConflictError(ArchiveError):
    code = "conflict"
    http_status = 409
    exit_code = ExitCode.CONFLICT


class MissingDependencyError(ArchiveError):
    """A required external tool is missing or too old; the message says how to install it."""

    code = "missing_dependency"
    http_status = 503
    exit_code = ExitCode.MISSING_TOOL


class BackendUnavailableError(ArchiveError):
    """A backend (database, object store, index) cannot be reached; the work can be retried."""

    code = "backend_unavailable"
    http_status = 503
    exit_code = ExitCode.BACKEND_UNAVAILABLE


class IntegrityError(ArchiveError):
    """Stored bytes, the audit log or a receipt do not match what they must be."""

    code = "integrity_error"
    http_status = 500
    exit_code = ExitCode.INTEGRITY


class ConversionFailedError(ArchiveError):
    """No verified preservation copy could be made."""

    code = "conversion_failed"
    http_status = 500
    exit_code = ExitCode.PRESERVATION_FAILED


class ConfigurationError(ArchiveError):
    code = "configuration_error"
    http_status = 500
    exit_code = ExitCode.UNEXPECTED


class BadRequestError(ArchiveError):
    """The request itself is incomplete or ambiguous (a missing option, several matching files)."""

    code = "bad_request"
    http_status = 400
    exit_code = ExitCode.REFUSED
