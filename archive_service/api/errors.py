"""Every error leaves the API as `{"code", "message_vi", "message_en", "details"}`, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive_service.api.models import ErrorBody
from archive_service.errors import ArchiveError, BackendUnavailableError
from search.errors import SearchUnavailable
from storage.errors import StorageUnavailable

logger = logging.getLogger("archive_service.api")

RETRY_AFTER_SECONDS = "30"

_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Không đọc được thân yêu cầu", "The request body cannot be read"),
    404: ("not_found", "Không có đường dẫn này", "No such path"),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ", "Method not allowed"),
}


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _headers_for(status: int) -> dict[str, str] | None:
    if status == 503:
        return {"Retry-After": RETRY_AFTER_SECONDS}
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="archive"'}
    return None


def install_error_handlers(app: FastAPI) -> None:
    """The one place where errors become HTTP responses."""

    @app.exception_handler(ArchiveError)
    async def archive_error(_: Request, exc: ArchiveError) -> JSONResponse:
        return error_response(exc.http_status, exc.to_dict(), _headers_for(exc.http_status))

    async def backend_down(request: Request, exc: Exception) -> JSONResponse:
        # A port's "unavailable" error that no service translated: still a 503, never a 500.
        logger.warning("backend unavailable on %s %s: %s", request.method, request.url.path, exc)
        error = BackendUnavailableError(
            "Một thành phần của kho tạm thời không truy cập được; hãy thử lại sau",
            "A backend of the archive is temporarily unavailable; retry later",
        )
        return error_response(503, error.to_dict(), _headers_for(503))

    for unavailable in (StorageUnavailable, SearchUnavailable, OperationalError):
        app.add_exception_handler(unavailable, backend_down)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        body = ErrorBody(
            code="invalid_request",
            message_vi="Yêu cầu không hợp lệ",
            message_en="The request is not valid",
            details=details,
        )
        return error_response(422, body.model_dump())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, vi, en = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "Lỗi yêu cầu", "Request error"))
        body = ErrorBody(code=code, message_vi=vi, message_en=en, details=[])
        return error_response(exc.status_code, body.model_dump(), _headers_for(exc.status_code))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the caller only gets the bilingual body.
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        body = ErrorBody(
            code="internal_error",
            message_vi="Lỗi ngoài dự kiến; chi tiết đã được ghi vào nhật ký máy chủ",
            message_en="Unexpected error; the details were written to the server log",
            details=[],
        )
        return error_response(500, body.model_dump())


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "the caller's role may not use this route"},
    422: {"model": ErrorBody, "description": "invalid parameters"},
    500: {"model": ErrorBody, "description": "unexpected error (logged)"},
    503: {"model": ErrorBody, "description": "a backend is unavailable; retry after `Retry-After` seconds"},
}


def responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route: the common ones plus `extra` statuses."""
    described = {
        400: "the request or package cannot be read",
        404: "no such record, or one the caller may not see",
        409: "conflict",
        413: "the body is larger than the configured limit",
        415: "unsupported content type",
        416: "the requested range is not satisfiable",
    }
    out = dict(ERROR_RESPONSES)
    for status in extra:
        out[status] = {"model": ErrorBody, "description": described.get(status, "error")}
    return out
