"""The OpenAPI document is a contract a vendor can integrate from alone: every operation declares
its success body and every error it can answer, each with a schema (interfaces.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from archive_service.api.app import create_app
from archive_service.config import Settings

OPEN_OPERATIONS = {("get", "/api/v1/health"), ("get", "/api/v1/metrics")}
ROUTES_OF_INTERFACES_MD = {
    ("post", "/api/v1/transfers"), ("get", "/api/v1/transfers/{transfer_id}"), ("post", "/api/v1/validate"),
    ("get", "/api/v1/search"), ("get", "/api/v1/dossiers/{code}"), ("get", "/api/v1/documents/{code}"),
    ("get", "/api/v1/documents/{code}/files/{role}"), ("post", "/api/v1/exports"),
    ("get", "/api/v1/exports/{export_id}"), ("post", "/api/v1/audits"), ("get", "/api/v1/audits/{audit_id}"),
    ("get", "/api/v1/audit-log"), ("get", "/api/v1/audit-log/verify"), ("get", "/api/v1/health"),
    ("get", "/api/v1/metrics"),
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(home=Path(tmp_path_factory.mktemp("openapi")) / "home"))
    document: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in schema["paths"].items() for method, op in item.items()]


def _schemas(response: dict[str, Any]) -> list[Any]:
    return [media.get("schema") for media in response.get("content", {}).values()]


def test_every_route_of_the_contract_is_published(schema: dict[str, Any]) -> None:
    published = {(method, path) for method, path, _ in _operations(schema)}
    assert published >= ROUTES_OF_INTERFACES_MD
    assert published - ROUTES_OF_INTERFACES_MD == set(), "a route outside interfaces.md: add it to the contract"


def test_every_operation_declares_its_success_body_with_a_schema(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            schemas = _schemas(response)
            assert schemas and all(schemas), (method, path, status)


def test_every_operation_declares_its_errors_with_the_error_body(schema: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorBody"
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"500", "503"}
        if (method, path) not in OPEN_OPERATIONS:
            expected |= {"401", "403"}
            assert operation.get("security"), (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            expected.add("422")
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status, response in responses.items():
            if status.startswith("2"):
                continue
            schemas = _schemas(response)
            assert schemas, (method, path, status)
            if (method, path, status) != ("get", "/api/v1/health", "503"):  # health says which backend
                assert all(s.get("$ref") == error_ref for s in schemas), (method, path, status, schemas)


def test_uploads_declare_both_body_forms(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/transfers", "/api/v1/validate"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        assert content["application/zip"]["schema"]["format"] == "binary"
        assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    assert "Idempotency-Key" in {p["name"] for p in schema["paths"]["/api/v1/transfers"]["post"]["parameters"]}
    statuses = set(schema["paths"]["/api/v1/transfers"]["post"]["responses"])
    assert {"202", "400", "409", "413", "415"} <= statuses
