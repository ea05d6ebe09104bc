"""The only place where concrete backends are constructed from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.db import make_engine, migrate, session_factory
from archive_service.config import Settings


@dataclass
class Services:
    """Everything a command, a request or a pipeline step needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Connect to the configured backends and bring the catalog schema up to date."""
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalog_url)
    migrate(engine)
    return Services(settings=settings, engine=engine, sessions=session_factory(engine))
