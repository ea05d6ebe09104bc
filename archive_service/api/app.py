"""FastAPI application factory: routers, and the one handler that turns errors into responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from archive_service import __version__
from archive_service.config import Settings
from archive_service.errors import ArchiveError


class Health(BaseModel):
    """Liveness of the service and of each backend."""

    status: str
    version: str
    backends: dict[str, str]


def create_app(settings: Settings) -> FastAPI:
    """Build the application for one archive instance."""
    app = FastAPI(
        title="Archive service API",
        description="Kho lưu trữ hồ sơ điện tử theo Thông tư 02/2019/TT-BNV / "
        "Electronic records archive (Circular 02/2019/TT-BNV)",
        version=__version__,
        openapi_url="/openapi.json",
    )

    @app.exception_handler(ArchiveError)
    async def archive_error(_: Request, exc: ArchiveError) -> JSONResponse:
        headers = {"Retry-After": "30"} if exc.http_status == 503 else None
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.get("/api/v1/health", response_model=Health, tags=["operations"])
    def health() -> Health:
        """Tình trạng dịch vụ / Service liveness."""
        return Health(status="ok", version=__version__, backends=_backend_health(settings))

    return app


def _backend_health(settings: Settings) -> dict[str, str]:
    home = settings.resolved_home
    return {
        "catalog": "sqlite" if settings.database_url is None else "external",
        "storage": "filesystem" if settings.storage is None else "external",
        "search": settings.search,
        "home": "ok" if home.exists() or home.parent.exists() else "missing",
    }
