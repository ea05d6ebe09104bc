"""FastAPI application factory: routers, and the one handler that turns errors into responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from archive_service import __version__
from archive_service.config import Settings
from archive_service.errors import ArchiveError
from archive_service.health import backend_health
from archive_service.wiring import build_services


class Health(BaseModel):
    """Liveness of the service and of each backend ("ok" or the reason it is unavailable)."""

    status: str
    version: str
    backends: dict[str, str]


def create_app(settings: Settings) -> FastAPI:
    """Build the application for one archive instance."""
    services = build_services(settings)
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

    @app.get("/api/v1/health", response_model=Health, tags=["operations"],
             responses={503: {"model": Health, "description": "a backend is unavailable"}})
    def health() -> JSONResponse:
        """Tình trạng dịch vụ và từng thành phần / Liveness of the service and each backend."""
        backends = backend_health(services)
        healthy = all(v == "ok" for v in backends.values())
        body = Health(status="ok" if healthy else "degraded", version=__version__, backends=backends)
        return JSONResponse(body.model_dump(), status_code=200 if healthy else 503,
                            headers=None if healthy else {"Retry-After": "30"})

    app.router.add_event_handler("shutdown", services.close)
    return app
