"""An archive on a temporary ARCHIVE_HOME behind FastAPI's TestClient, with one API key per role."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from archive_service import users
from archive_service.api.app import create_app
from archive_service.api_keys import create_key
from archive_service.config import PackageLimits, Settings
from archive_service.states import Role
from archive_service.wiring import Services

OWN_ORG = "000.00.00.G09"  # the creator agent of tests.fixtures.sip_builder packages
OTHER_ORG = "000.00.00.H01"
FONDS = "000.00.00.G09"
RESTRICTED = "Hạn chế"
FINAL = {"accepted", "rejected", "failed", "tested"}

CALLERS = ("submitter_own", "submitter_other", "archivist", "archivist_granted", "auditor", "admin")


@dataclass
class ApiArchive:
    """A running app, its services, and the bearer key of each caller in `CALLERS`."""

    client: TestClient
    services: Services
    home: Path
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, caller: str | None, **extra: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.keys[caller]}"} if caller else {}
        return {**auth, **extra}

    def submit(self, caller: str, body: bytes, key: str | None = None, **headers: str) -> httpx.Response:
        sent = {"Content-Type": "application/zip", **headers}
        if key is not None:
            sent["Idempotency-Key"] = key
        headers = self.headers(caller, **sent)
        response: httpx.Response = self.client.post("/api/v1/transfers", content=body, headers=headers)
        return response

    def wait_final(self, caller: str, transfer_id: str, timeout: float = 300) -> dict[str, Any]:
        """Poll the transfer until it ends (a retryable failure counts as an end here)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(f"/api/v1/transfers/{transfer_id}", headers=self.headers(caller))
            assert response.status_code == 200, response.text
            state: dict[str, Any] = response.json()
            if state["status"] in FINAL:
                return state
            assert time.monotonic() < deadline, f"transfer {transfer_id} did not finish: {state}"
            time.sleep(0.2)


def _add_keys(services: Services) -> dict[str, str]:
    roles = {
        "submitter_own": (Role.SUBMITTER, OWN_ORG),
        "submitter_other": (Role.SUBMITTER, OTHER_ORG),
        "archivist": (Role.ARCHIVIST, OWN_ORG),
        "archivist_granted": (Role.ARCHIVIST, OWN_ORG),
        "auditor": (Role.AUDITOR, OWN_ORG),
        "admin": (Role.ADMIN, OWN_ORG),
    }
    keys: dict[str, str] = {}
    with services.sessions() as session:
        for caller, (role, org) in roles.items():
            created = create_key(session, users.OPERATOR, org, role=role)
            keys[caller] = created.secret
            if caller == "archivist_granted":
                users.grant(session, users.OPERATOR, created.user, FONDS, RESTRICTED)
    return keys


def open_archive(home: Path, *, limits: PackageLimits | None = None) -> Iterator[ApiArchive]:
    settings = Settings(home=home, limits=limits or PackageLimits())
    app = create_app(settings)
    with TestClient(app) as client:
        services: Services = app.state.services
        yield ApiArchive(client=client, services=services, home=home, keys=_add_keys(services))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiArchive]:
    """A fresh archive for one test."""
    yield from open_archive(tmp_path / "home")
