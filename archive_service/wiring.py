"""The only place where concrete backends are constructed from the settings.

The catalog is opened (and migrated) at once; the object stores, the search index and the
signing keys are built on first use, so `archive validate` touches nothing it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.db import make_engine, migrate, session_factory
from archive_service.config import Settings
from archive_service.replicas import ReplicatedStore
from archive_service.signing import KeyRing
from search.factory import open_index
from search.protocol import SearchIndex
from storage.factory import from_url

if TYPE_CHECKING:
    from archive_service.preservation.preserve_file import CopyOutcome, CopyRequest
    from archive_service.preservation.workers import WorkerPool


@dataclass
class Services:
    """Everything a command, a request or a pipeline step needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @cached_property
    def store(self) -> ReplicatedStore:
        """The primary and replica object stores (two independent copies by default)."""
        return ReplicatedStore(
            [
                from_url(self.settings.primary_store_url, "primary"),
                from_url(self.settings.replica_store_url, "replica"),
            ]
        )

    @cached_property
    def index(self) -> SearchIndex:
        return open_index(self.settings.search, self.settings.resolved_home)

    @cached_property
    def keyring(self) -> KeyRing:
        return KeyRing(self.settings.resolved_home)

    @cached_property
    def conversions(self) -> WorkerPool[CopyRequest, CopyOutcome]:
        """The warm conversion worker processes (started on first use, kept until close)."""
        from archive_service.preservation.preserve_file import make_copy
        from archive_service.preservation.workers import WorkerPool

        settings = self.settings.preservation
        return WorkerPool(
            make_copy,
            workers=settings.workers,
            stall_timeout=settings.stall_timeout_seconds,
            warm_modules=("archive_service.preservation.preserve_file",),
        )

    def close(self) -> None:
        if "conversions" in self.__dict__:
            self.conversions.close()
        if "index" in self.__dict__:
            self.index.close()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Connect to the catalog and bring its schema up to date; other backends come on first use."""
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalog_url)
    migrate(engine)
    return Services(settings=settings, engine=engine, sessions=session_factory(engine))
