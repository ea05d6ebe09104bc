"""Liveness of every backend, as `/api/v1/health` reports it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from archive_service.wiring import Services
from search.errors import SearchError
from storage.errors import StorageError


def backend_health(services: Services) -> dict[str, str]:
    """"ok" or a short reason for the catalog, each object-store copy and the search index."""
    result: dict[str, str] = {}
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        result["catalog"] = "ok"
    except SQLAlchemyError as exc:
        result["catalog"] = f"unavailable: {type(exc).__name__}"
    for store in services.store.copies:
        try:
            store.health()
            result[f"storage.{store.name}"] = "ok"
        except StorageError as exc:
            result[f"storage.{store.name}"] = f"unavailable: {exc.message}"
    try:
        services.index.health()
        result["search"] = "ok"
    except SearchError as exc:
        result["search"] = f"unavailable: {exc}"
    return result
