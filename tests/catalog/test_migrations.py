"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, insert, inspect, select

from archive_service.catalog.db import alembic_config, make_engine, migrate, render_item
from archive_service.catalog.models import Base, Fonds


def _head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def _schema(connection: Connection) -> dict[str, Any]:
    """Everything the migrations decide, in a comparable form."""
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        schema[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
            "pk": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(name)),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(name)
            ),
        }
    return schema


def test_migrations_from_empty_build_the_models_schema(catalog_url: str) -> None:
    engine = make_engine(catalog_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == _head(engine)
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing(catalog_url: str) -> None:
    engine = make_engine(catalog_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(insert(Fonds).values(code="G09", name="UBND tỉnh Hà Giang"))
            before = _schema(connection)
        migrate(engine)
        with engine.connect() as connection:
            assert _schema(connection) == before
            assert MigrationContext.configure(connection).get_current_revision() == _head(engine)
            assert connection.scalar(select(func.count()).select_from(Fonds)) == 1
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_back(catalog_url: str) -> None:
    """Every migration's downgrade runs on both backends, and upgrading again gives the same schema."""
    engine = make_engine(catalog_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            migrated = _schema(connection)
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        with engine.connect() as connection:
            assert _schema(connection) == migrated
    finally:
        engine.dispose()


def test_autogenerate_writes_database_types(catalog_url: str) -> None:
    """A migration generated from the models names `sa.DateTime(timezone=True)`, never the
    application's `UTCDateTime`, so migrations do not depend on the models module."""
    engine = make_engine(catalog_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            upgrade = produce_migrations(context, Base.metadata).upgrade_ops
            assert upgrade is not None
            code = render_python_code(upgrade, render_item=render_item)
    finally:
        engine.dispose()
    assert "sa.DateTime(timezone=True)" in code
    assert "UTCDateTime" not in code
