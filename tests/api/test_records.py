"""Reading over the API: Range downloads of verified bytes, search filtered by access rights,
errors always in the bilingual shape, and an OpenAPI document that describes every route."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from archive_service.api.app import create_app
from archive_service.config import Settings
from tests.api.conftest import RESTRICTED, ApiArchive, open_archive
from tests.fixtures.sip_builder import SipBuilder, valid_sip

pytestmark = pytest.mark.slow


@dataclass
class Ingested:
    api: ApiArchive
    builder: SipBuilder


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    folder = tmp_path_factory.mktemp("records")
    builder = valid_sip((2, 1, 1))
    builder.documents[2].values["Mode"] = RESTRICTED
    builder.documents[2].values["Subject"] = "Về việc tuyển dụng công chức mật danh Sao Mai"
    for api in open_archive(folder / "home"):
        response = api.submit("submitter_own", builder.write_zip(folder).read_bytes())
        assert api.wait_final("submitter_own", response.json()["transfer_id"])["status"] == "accepted"
        yield Ingested(api, builder)


def _original(ingested: Ingested, index: int = 0) -> tuple[str, bytes]:
    document = ingested.builder.documents[index]
    return document.values["DocCode"], document.files[0].content


def test_a_download_is_the_original_bit_for_bit(ingested: Ingested) -> None:
    api = ingested.api
    code, content = _original(ingested)
    response = api.client.get(f"/api/v1/documents/{code}/files/original", headers=api.headers("archivist"))
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(content).hexdigest()
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"].startswith("application/pdf")
    assert not any((api.home / "work" / "downloads").iterdir())  # the verified copy is removed afterwards


@pytest.mark.parametrize(("header", "start", "end"), [("bytes=0-99", 0, 100), ("bytes=100-", 100, None),
                                                      ("bytes=-50", -50, None), ("bytes=7-7", 7, 8)])
def test_a_range_returns_exactly_the_requested_bytes(
    ingested: Ingested, header: str, start: int, end: int | None
) -> None:
    api = ingested.api
    code, content = _original(ingested)
    response = api.client.get(
        f"/api/v1/documents/{code}/files/original", headers=api.headers("archivist", Range=header)
    )
    assert response.status_code == 206
    assert response.content == content[start:end]
    assert response.headers["content-range"].endswith(f"/{len(content)}")


def test_an_unsatisfiable_range_is_416(ingested: Ingested) -> None:
    api = ingested.api
    code, content = _original(ingested)
    response = api.client.get(
        f"/api/v1/documents/{code}/files/original",
        headers=api.headers("archivist", Range=f"bytes={len(content) + 10}-"),
    )
    assert response.status_code == 416


def test_the_preservation_copy_is_a_pdf(ingested: Ingested) -> None:
    api = ingested.api
    code, _ = _original(ingested)
    response = api.client.get(f"/api/v1/documents/{code}/files/preservation", headers=api.headers("admin"))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


def test_a_file_role_that_does_not_exist_is_422(ingested: Ingested) -> None:
    api = ingested.api
    code, _ = _original(ingested)
    response = api.client.get(f"/api/v1/documents/{code}/files/secret", headers=api.headers("admin"))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_restricted_records_never_reach_hits_or_totals_without_the_grant(ingested: Ingested) -> None:
    api = ingested.api
    restricted = ingested.builder.documents[2].values["DocCode"]
    for query in ("tuyen dung", "Sao Mai", ""):
        plain = api.client.get("/api/v1/search", params={"q": query}, headers=api.headers("archivist")).json()
        granted = api.client.get(
            "/api/v1/search", params={"q": query}, headers=api.headers("archivist_granted")
        ).json()
        assert restricted not in {h["code"] for h in plain["hits"]}
        assert "Sao Mai" not in str(plain)
        assert restricted in {h["code"] for h in granted["hits"]}
        assert granted["total"] == plain["total"] + 1
        assert sum(plain["facets"].get("access_regime", {}).values()) <= plain["total"]
        assert RESTRICTED not in plain["facets"].get("access_regime", {})
    only_restricted = api.client.get(
        "/api/v1/search", params={"access": RESTRICTED}, headers=api.headers("archivist")
    ).json()
    assert only_restricted["total"] == 0 and only_restricted["hits"] == []


def test_search_pages(ingested: Ingested) -> None:
    api = ingested.api
    headers = api.headers("admin")
    everything = api.client.get("/api/v1/search", params={"page_size": 100}, headers=headers).json()
    first = api.client.get("/api/v1/search", params={"page_size": 2, "page": 1}, headers=headers).json()
    second = api.client.get("/api/v1/search", params={"page_size": 2, "page": 2}, headers=headers).json()
    assert first["total"] == second["total"] == everything["total"] >= 4
    codes = [h["code"] for h in first["hits"] + second["hits"]]
    assert len(codes) == len(set(codes)) == 4
    bad = api.client.get("/api/v1/search", params={"page": 0}, headers=headers)
    assert bad.status_code == 422 and set(bad.json()) == {"code", "message_vi", "message_en", "details"}


def test_a_document_shows_files_fixity_and_events(ingested: Ingested) -> None:
    api = ingested.api
    code, content = _original(ingested)
    body = api.client.get(f"/api/v1/documents/{code}", headers=api.headers("archivist")).json()
    originals = [f for f in body["files"] if f["role"] == "original"]
    assert originals[0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["events"] and body["dossier"] == ingested.builder.dossier["FileCode"]


def test_unknown_paths_and_methods_answer_in_the_error_shape(ingested: Ingested) -> None:
    client = ingested.api.client
    for response in (client.get("/api/v1/nothing-here"), client.delete("/api/v1/health")):
        assert response.status_code in (404, 405)
        assert set(response.json()) == {"code", "message_vi", "message_en", "details"}


def test_an_unexpected_error_is_500_in_the_error_shape_never_a_traceback(
    ingested: Ingested, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive_service import retrieval

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(retrieval, "search", boom)
    client = TestClient(ingested.api.client.app, raise_server_exceptions=False)
    response = client.get("/api/v1/search", headers=ingested.api.headers("admin"))
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret internal detail" not in response.text and "Traceback" not in response.text


def test_openapi_describes_every_route_with_models(tmp_path: object) -> None:
    from pathlib import Path

    app = create_app(Settings(home=Path(str(tmp_path)) / "home"))
    schema = TestClient(app).get("/openapi.json").json()
    expected = {
        ("post", "/api/v1/transfers"), ("get", "/api/v1/transfers/{transfer_id}"), ("post", "/api/v1/validate"),
        ("get", "/api/v1/search"), ("get", "/api/v1/dossiers/{code}"), ("get", "/api/v1/documents/{code}"),
        ("get", "/api/v1/documents/{code}/files/{role}"), ("post", "/api/v1/audits"),
        ("get", "/api/v1/audits/{audit_id}"), ("get", "/api/v1/audit-log"), ("get", "/api/v1/audit-log/verify"),
        ("get", "/api/v1/health"),
    }
    found = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert expected <= found
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    for method, path in expected - {("get", "/api/v1/documents/{code}/files/{role}")}:
        operation = schema["paths"][path][method]
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        assert "$ref" in str(success["content"]["application/json"]["schema"]), (method, path)
        if path != "/api/v1/health":
            assert "ErrorBody" in str(operation["responses"]["401"]), (method, path)
    assert "application/zip" in schema["paths"]["/api/v1/transfers"]["post"]["requestBody"]["content"]


def test_a_backend_down_is_503_with_retry_after(ingested: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    from search.errors import SearchUnavailable

    def down(*_: object, **__: object) -> None:
        raise SearchUnavailable("connection refused")

    monkeypatch.setattr(type(ingested.api.services.index), "query", down)
    response = ingested.api.client.get("/api/v1/search", params={"q": "x"}, headers=ingested.api.headers("admin"))
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["code"] == "backend_unavailable"
