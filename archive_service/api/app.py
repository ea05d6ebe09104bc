"""FastAPI application factory: routers, the background worker, and the error handlers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from archive_service import __version__
from archive_service.api import routes_exports, routes_integrity, routes_records, routes_transfers
from archive_service.api.background import AuditRuns, TransferWorker
from archive_service.api.errors import ERROR_RESPONSES, RETRY_AFTER_SECONDS, install_error_handlers
from archive_service.config import Settings
from archive_service.health import backend_health
from archive_service.metrics import prometheus_text
from archive_service.wiring import build_services


class Health(BaseModel):
    """Liveness of the service and of each backend ("ok" or the reason it is unavailable)."""

    status: str
    version: str
    backends: dict[str, str]


def create_app(settings: Settings) -> FastAPI:
    """Build the application for one archive instance."""
    services = build_services(settings)
    transfers = TransferWorker(services)
    audits = AuditRuns(services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Verified copies of a download interrupted by a crash are not needed any more.
        shutil.rmtree(settings.work_root / "downloads", ignore_errors=True)
        transfers.start()
        try:
            yield
        finally:
            transfers.shutdown()
            audits.shutdown()
            services.close()

    app = FastAPI(
        title="Archive service API",
        description="Kho lưu trữ hồ sơ điện tử theo Thông tư 02/2019/TT-BNV / "
        "Electronic records archive (Circular 02/2019/TT-BNV). "
        "Authenticate with `Authorization: Bearer <API key>` (`archive users key`).",
        version=__version__,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.transfer_worker = transfers
    app.state.audit_runs = audits
    install_error_handlers(app)

    @app.get("/api/v1/health", response_model=Health, tags=["operations"],
             responses={500: ERROR_RESPONSES[500],
                        503: {"model": Health, "description": "a backend is unavailable"}})
    def health() -> JSONResponse:
        """Tình trạng dịch vụ và từng thành phần / Liveness of the service and each backend."""
        backends = backend_health(services)
        healthy = all(v == "ok" for v in backends.values())
        body = Health(status="ok" if healthy else "degraded", version=__version__, backends=backends)
        return JSONResponse(body.model_dump(), status_code=200 if healthy else 503,
                            headers=None if healthy else {"Retry-After": RETRY_AFTER_SECONDS})

    @app.get("/api/v1/metrics", response_class=PlainTextResponse, tags=["operations"],
             responses={500: ERROR_RESPONSES[500], 503: ERROR_RESPONSES[503]})
    def metrics() -> PlainTextResponse:
        """Số liệu vận hành (Prometheus) / Operational figures for Prometheus: counts only."""
        return PlainTextResponse(prometheus_text(services), media_type="text/plain; version=0.0.4")

    app.include_router(routes_transfers.router)
    app.include_router(routes_records.router)
    app.include_router(routes_integrity.router)
    app.include_router(routes_exports.router)
    return app
