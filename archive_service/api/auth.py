"""Authentication (`Authorization: Bearer <API key>`) and the role check of every route.

The key stands for a user: the Reader built for it is the same one the CLI builds for
`--as USER`, so record visibility is decided by the same code (`access.Reader`,
`retrieval`), and a record the caller may not see answers 404 exactly like a missing one.
A role that may not use a route at all gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from archive_service.access import Reader
from archive_service.api_keys import reader_for_key
from archive_service.errors import ForbiddenError
from archive_service.states import Role
from archive_service.wiring import Services

_bearer = HTTPBearer(auto_error=False, description="API key from `archive users key`")


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reader:
    """The authenticated caller; 401 without a valid key."""
    services = services_of(request)
    with services.sessions() as session:
        return reader_for_key(session, credentials.credentials if credentials else None, services.settings)


def allow(*roles: Role) -> Callable[[Reader], Reader]:
    """A dependency admitting `roles` and administrators; 403 for any other role."""
    admitted = {*roles, Role.ADMIN}

    def check(reader: Annotated[Reader, Depends(caller)]) -> Reader:
        if reader.role not in admitted:
            raise ForbiddenError(
                f"Vai trò {reader.role} không được dùng chức năng này",
                f"The role {reader.role} may not use this route",
            )
        return reader

    return check
