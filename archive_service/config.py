"""Settings, read from `ARCHIVE_*` environment variables (spec interfaces.md, architecture.md).

All embedded state lives under `ARCHIVE_HOME`; each port is chosen by one setting whose default is
the embedded implementation, so a fresh machine runs the archive with nothing else installed.
Nested settings use a double underscore: `ARCHIVE_LIMITS__MAX_ENTRIES=20000`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class PackageLimits(BaseModel):
    """Limits on what a transfer package may contain (rules.md Conventions; zip-bomb defence)."""

    max_total_bytes: int = Field(default=4 * GIB, gt=0)
    max_entries: int = Field(default=10_000, gt=0)
    max_compression_ratio: float = Field(default=100.0, gt=1)
    max_xml_bytes: int = Field(default=64 * 1024**2, gt=0)


class ToolSettings(BaseModel):
    """Where external programs are found; empty means: look in the project's tool cache."""

    cache_dir: Path = Path.home() / ".cache" / "archive-service"
    ghostscript: Path | None = None
    siegfried: Path | None = None  # `sf`; else the one scripts/services/siegfried.sh built, else PATH's


class PreservationSettings(BaseModel):
    """How preservation copies are made and verified (docs/decisions/0014).

    Conversions run in `workers` long-lived processes; each OCRs up to `ocr_jobs` pages at once
    with single-threaded Tesseracts, so at most workers × ocr_jobs OCR processes run together.
    A batch in which no conversion finishes for `stall_timeout_seconds` is stopped. With `verapdf`,
    every copy is also validated by veraPDF (jars in `verapdf_lib`, else the tool cache).
    """

    workers: int = Field(default=2, gt=0)
    ocr_jobs: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0)
    stall_timeout_seconds: float = Field(default=1800.0, gt=0)
    verapdf: bool = False
    verapdf_lib: Path | None = None


class SignatureSettings(BaseModel):
    """How embedded PDF signatures are judged (rules.md file.signature.*; reference/tech.md §6).

    `trusted_roots_dir` holds the CA certificates (PEM or DER, e.g. the Government CA roots of
    Ban Cơ yếu Chính phủ, obtained out of band); None means trust is not evaluated and the
    per-file result says so. Validation is offline: no CRL/OCSP fetching.
    """

    trusted_roots_dir: Path | None = None
    allow_sha1: bool = True


class Settings(BaseSettings):
    """Everything configurable about one archive instance."""

    model_config = SettingsConfigDict(env_prefix="ARCHIVE_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path("archive-data")
    database_url: str | None = None
    storage: str | None = None
    storage_replica: str | None = None
    search: str = "embedded"
    queue: str = "embedded"  # or postgresql[://…]: `archive worker` processes share the work (decision 0017)
    uploads: str | None = None  # s3://…/BUCKET?lock=off: uploads reachable from workers on other hosts
    queue_sweep_seconds: float = Field(default=15.0, gt=0)  # how often workers look for abandoned transfers
    default_profile: str = "tt02-2019"
    keep_work_dirs: bool = False
    public_regimes: list[str] = ["Công khai"]
    audit_cycle_days: int = Field(default=30, gt=0)  # `archive audit --scheduled`, run daily
    retention_permanent_years: int = Field(default=100, gt=0)  # object lock of "Vĩnh viễn" (0012)
    limits: PackageLimits = PackageLimits()
    tools: ToolSettings = ToolSettings()
    signatures: SignatureSettings = SignatureSettings()
    # clamd to scan every file with (file.virus): a unix socket path or host:port; None: not scanned
    clamav: str | None = None
    preservation: PreservationSettings = PreservationSettings()

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def catalog_url(self) -> str:
        """`ARCHIVE_DATABASE_URL`, or the SQLite catalog under `ARCHIVE_HOME`."""
        return self.database_url or f"sqlite:///{self.resolved_home / 'catalog.sqlite3'}"

    @property
    def primary_store_url(self) -> str:
        return self.storage or (self.resolved_home / "store" / "primary").as_uri()

    @property
    def replica_store_url(self) -> str:
        return self.storage_replica or (self.resolved_home / "store" / "replica").as_uri()

    @property
    def work_root(self) -> Path:
        """Transfers are unpacked here, one folder each; nothing is written elsewhere."""
        return self.resolved_home / "work"
