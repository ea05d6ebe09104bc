"""Every route × every role × own/other organisation × public/restricted record.

Expected statuses (docs/api.md): 401 without a valid key; 403 for a role that may not use the
route; 404 for a record (or transfer) the caller may not see, exactly as for a missing one.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import CALLERS, RESTRICTED, ApiArchive, open_archive
from tests.fixtures.sip_builder import SipBuilder, valid_sip

pytestmark = pytest.mark.slow


@dataclass
class Holdings:
    api: ApiArchive
    builder: SipBuilder
    package: bytes
    transfer_id: str
    audit_id: str
    export_id: str

    @property
    def dossier(self) -> str:
        return self.builder.dossier["FileCode"]

    @property
    def public_doc(self) -> str:
        return self.builder.documents[0].values["DocCode"]

    @property
    def restricted_doc(self) -> str:
        return self.builder.documents[1].values["DocCode"]


@pytest.fixture(scope="module")
def holdings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holdings]:
    """One archive holding a dossier with a public and a restricted document, sent over the API."""
    folder = tmp_path_factory.mktemp("authz")
    builder = valid_sip((1, 1))
    builder.documents[1].values["Mode"] = RESTRICTED
    package = builder.write_zip(folder).read_bytes()
    for api in open_archive(folder / "home"):
        response = api.submit("submitter_own", package)
        assert response.status_code == 202
        transfer_id = response.json()["transfer_id"]
        assert api.wait_final("submitter_own", transfer_id)["status"] == "accepted"
        audit = api.client.post("/api/v1/audits", json={"sample": 1}, headers=api.headers("admin"))
        assert audit.status_code == 202
        made = api.client.post("/api/v1/exports", json={"codes": [builder.dossier["FileCode"]]},
                               headers=api.headers("archivist"))
        assert made.status_code == 201, made.text
        yield Holdings(api, builder, package, transfer_id, audit.json()["audit_id"], made.json()["export_id"])


def _tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x/readme.txt", "x")
    return buffer.getvalue()


S_OWN, S_OTHER, ARCH, GRANTED, AUD, ADMIN = CALLERS
READERS_OK = {S_OWN: 403, S_OTHER: 403, ARCH: 200, GRANTED: 200, AUD: 200, ADMIN: 200}
AUDITORS_OK = {S_OWN: 403, S_OTHER: 403, ARCH: 403, GRANTED: 403, AUD: 200, ADMIN: 200}

# route name -> caller -> expected status
MATRIX: dict[str, dict[str, int]] = {
    "submit_transfer": {S_OWN: 202, S_OTHER: 202, ARCH: 403, GRANTED: 403, AUD: 403, ADMIN: 202},
    "transfer_status": {S_OWN: 200, S_OTHER: 404, ARCH: 200, GRANTED: 200, AUD: 403, ADMIN: 200},
    "validate": {S_OWN: 200, S_OTHER: 200, ARCH: 200, GRANTED: 200, AUD: 403, ADMIN: 200},
    "search": {**READERS_OK},
    "dossier_public": {**READERS_OK},
    "document_public": {**READERS_OK},
    "document_restricted": {S_OWN: 403, S_OTHER: 403, ARCH: 404, GRANTED: 200, AUD: 404, ADMIN: 200},
    "file_public": {S_OWN: 403, S_OTHER: 403, ARCH: 200, GRANTED: 200, AUD: 403, ADMIN: 200},
    "file_restricted": {S_OWN: 403, S_OTHER: 403, ARCH: 404, GRANTED: 200, AUD: 403, ADMIN: 200},
    "start_audit": {S_OWN: 403, S_OTHER: 403, ARCH: 403, GRANTED: 403, AUD: 202, ADMIN: 202},
    "start_repair": {S_OWN: 403, S_OTHER: 403, ARCH: 403, GRANTED: 403, AUD: 403, ADMIN: 202},
    "audit_status": {**AUDITORS_OK},
    "audit_log": {**AUDITORS_OK},
    "audit_log_verify": {**AUDITORS_OK},
    "export_dossier": {S_OWN: 403, S_OTHER: 403, ARCH: 201, GRANTED: 201, AUD: 403, ADMIN: 201},
    "export_restricted": {S_OWN: 403, S_OTHER: 403, ARCH: 404, GRANTED: 201, AUD: 403, ADMIN: 201},
    "export_download": {S_OWN: 403, S_OTHER: 403, ARCH: 200, GRANTED: 404, AUD: 403, ADMIN: 200},
    "health": dict.fromkeys(CALLERS, 200),
    "metrics": dict.fromkeys(CALLERS, 200),
}
OPEN_ROUTES = {"health", "metrics"}  # interfaces.md: anyone / the operator's scraper


def _call(h: Holdings, route: str, caller: str | None, key: str | None = None) -> httpx.Response:
    api = h.api
    headers = {"Authorization": f"Bearer {key}"} if key else api.headers(caller)
    zip_headers = {**headers, "Content-Type": "application/zip"}
    get = api.client.get
    calls: dict[str, Callable[[], httpx.Response]] = {
        "submit_transfer": lambda: api.client.post("/api/v1/transfers", content=_tiny_zip(), headers=zip_headers),
        "transfer_status": lambda: get(f"/api/v1/transfers/{h.transfer_id}", headers=headers),
        "validate": lambda: api.client.post("/api/v1/validate", content=h.package, headers=zip_headers),
        "search": lambda: get("/api/v1/search", params={"q": "tuyen dung"}, headers=headers),
        "dossier_public": lambda: get(f"/api/v1/dossiers/{h.dossier}", headers=headers),
        "document_public": lambda: get(f"/api/v1/documents/{h.public_doc}", headers=headers),
        "document_restricted": lambda: get(f"/api/v1/documents/{h.restricted_doc}", headers=headers),
        "file_public": lambda: get(f"/api/v1/documents/{h.public_doc}/files/original", headers=headers),
        "file_restricted": lambda: get(f"/api/v1/documents/{h.restricted_doc}/files/original", headers=headers),
        "start_audit": lambda: api.client.post("/api/v1/audits", json={"sample": 1}, headers=headers),
        "start_repair": lambda: api.client.post("/api/v1/audits", json={"sample": 1, "repair": True}, headers=headers),
        "audit_status": lambda: get(f"/api/v1/audits/{h.audit_id}", headers=headers),
        "audit_log": lambda: get("/api/v1/audit-log", headers=headers),
        "audit_log_verify": lambda: get("/api/v1/audit-log/verify", headers=headers),
        "export_dossier": lambda: api.client.post("/api/v1/exports", json={"codes": [h.dossier]}, headers=headers),
        "export_restricted": lambda: api.client.post(
            "/api/v1/exports", json={"codes": [h.restricted_doc]}, headers=headers
        ),
        "export_download": lambda: get(f"/api/v1/exports/{h.export_id}", headers=headers),
        "health": lambda: get("/api/v1/health", headers=headers),
        "metrics": lambda: get("/api/v1/metrics", headers=headers),
    }
    return calls[route]()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_route_answers_each_role_as_documented(holdings: Holdings, route: str, caller: str) -> None:
    response = _call(holdings, route, caller)
    assert response.status_code == MATRIX[route][caller], response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message_vi", "message_en", "details"}


@pytest.mark.parametrize("key", [None, "ak_not-a-key", "x" * 500])
@pytest.mark.parametrize("route", sorted(set(MATRIX) - OPEN_ROUTES))
def test_every_route_but_health_needs_a_valid_key(holdings: Holdings, route: str, key: str | None) -> None:
    response = _call(holdings, route, None, key=key)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_hidden_record_answers_exactly_like_a_missing_one(holdings: Holdings) -> None:
    api = holdings.api
    hidden = api.client.get(f"/api/v1/documents/{holdings.restricted_doc}", headers=api.headers("archivist"))
    missing = api.client.get("/api/v1/documents/no-such-code", headers=api.headers("archivist"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"]


def test_a_dossier_lists_only_the_documents_the_caller_may_see(holdings: Holdings) -> None:
    api = holdings.api
    url = f"/api/v1/dossiers/{holdings.dossier}"
    plain = {d["code"] for d in api.client.get(url, headers=api.headers("archivist")).json()["documents"]}
    granted = {d["code"] for d in api.client.get(url, headers=api.headers("archivist_granted")).json()["documents"]}
    assert plain == {holdings.public_doc}
    assert granted == {holdings.public_doc, holdings.restricted_doc}


def test_a_document_code_is_not_a_dossier_and_back(holdings: Holdings) -> None:
    api = holdings.api
    admin = api.headers("admin")
    assert api.client.get(f"/api/v1/dossiers/{holdings.public_doc}", headers=admin).status_code == 404
    assert api.client.get(f"/api/v1/documents/{holdings.dossier}", headers=admin).status_code == 404


def test_reads_and_downloads_are_in_the_audit_log(holdings: Holdings, tmp_path: Path) -> None:
    api = holdings.api
    api.client.get(f"/api/v1/documents/{holdings.public_doc}/files/original", headers=api.headers("archivist"))
    page = api.client.get("/api/v1/audit-log", params={"page_size": 500}, headers=api.headers("auditor")).json()
    actions = {(e["action"], e["target"]) for e in page["entries"]}
    assert ("download", holdings.public_doc) in actions
    assert "api_key_create" in {e["action"] for e in page["entries"]}
    assert all("ak_" not in str(e) for e in page["entries"])  # no secret in the log
    assert api.client.get("/api/v1/audit-log/verify", headers=api.headers("auditor")).json()["ok"] is True


def test_the_matrix_covers_every_route_of_the_app(holdings: Holdings) -> None:
    """A new route fails here until its row is added to MATRIX (and this list)."""
    schema = holdings.api.client.get("/openapi.json").json()
    routes = {op["operationId"].split("_api_v1_")[0] for item in schema["paths"].values() for op in item.values()}
    covered_by_matrix = {
        "submit_transfer", "transfer_status", "validate", "search", "dossier", "document", "document_file",
        "start_audit", "audit_status", "read_audit_log", "verify_audit_log", "create_export", "export_download",
        "health", "metrics",
    }
    assert routes == covered_by_matrix
