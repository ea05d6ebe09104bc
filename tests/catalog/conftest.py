"""The catalog backends every test of this folder runs on: a SQLite file and a real PostgreSQL.

`catalog_url` is parametrised over both (select one with `-k sqlite` or `-k postgresql`).
PostgreSQL is the Debian server started once per test session by `scripts/services/postgres.sh`
(on 127.0.0.1:5433 unless ARCHIVE_PG_PORT says otherwise) and stopped at the end if this session
started it; `ARCHIVE_TEST_POSTGRES_URL` points the tests at another server instead (its role
needs CREATEDB). Each test gets a fresh database, created from template0 and dropped afterwards.
The test databases default to the Vietnamese time zone, so a naive/aware datetime mistake shows.

Without PostgreSQL the postgresql half fails under `CI=true` and is skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.db import make_engine, migrate, session_factory

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "services" / "postgres.sh"
PG_DIR = os.environ.get("ARCHIVE_PG_DIR", "/tmp/archive-pg")
PG_PORT = os.environ.get("ARCHIVE_PG_PORT", "5433")
DEFAULT_URL = f"postgresql+psycopg://archive_test@127.0.0.1:{PG_PORT}/archive"
DATABASE_TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass
class PostgresServer:
    """A PostgreSQL server whose role may create databases."""

    admin: Engine  # AUTOCOMMIT, on a database that exists already

    def create_database(self) -> str:
        name = f"catalog_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''))
            connection.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO '{DATABASE_TIMEZONE}'"))
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a test database. A plain DROP stops an autovacuum worker busy in it (which WITH
        (FORCE) may not, without superuser rights); FORCE then ends connections a test leaked."""
        name = make_url(url).database
        with self.admin.connect() as connection:
            try:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            except OperationalError:  # "is being accessed by other users"
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _unavailable(reason: str) -> None:
    message = (
        f"PostgreSQL is not available for the catalog tests ({reason}). "
        f"Start it with `bash {SCRIPT.relative_to(REPO)} start` (it installs Debian's postgresql "
        "if missing), or set ARCHIVE_TEST_POSTGRES_URL."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401  (the driver the URLs name)
    except ImportError:
        _unavailable("the driver is missing: pip install 'psycopg[binary]'")
    url = os.environ.get("ARCHIVE_TEST_POSTGRES_URL", DEFAULT_URL)
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    started_here = False
    if not _reachable(admin):
        if "ARCHIVE_TEST_POSTGRES_URL" in os.environ:
            admin.dispose()
            _unavailable(f"cannot connect to ARCHIVE_TEST_POSTGRES_URL={url}")
        started = _script("start", PG_DIR, PG_PORT)
        print(started.stdout, end="")  # the script's timings, shown with -s
        if started.returncode != 0 or not _reachable(admin):
            admin.dispose()
            _unavailable(f"{SCRIPT.name} start exited with {started.returncode}: {started.stderr.strip()[-800:]}")
        started_here = True
    try:
        yield PostgresServer(admin)
    finally:
        admin.dispose()
        if started_here:
            _script("stop", PG_DIR)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty catalog database (no tables yet) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/catalog.sqlite3"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def engine(catalog_url: str) -> Iterator[Engine]:
    """An engine on a migrated catalog."""
    engine = make_engine(catalog_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)
