"""Property-based run of the HTTP API from its own OpenAPI document (schemathesis): whatever the
generated request, valid or not, no 5xx, and every answer matches the status codes, media types
and schemas the document declares. Called with an administrator's key, so every route is reached,
and with a submitter's, whose refusals must be documented too; the archive holds one accepted
dossier so that some generated codes can hit real records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ApiArchive, open_archive
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25
CALLERS = ("admin", "submitter_own")  # every route reached; and the refusals of a narrow role
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Target:
    api: ApiArchive
    schema: Any


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz")
    for api in open_archive(folder / "home"):
        response = api.submit("submitter_own", valid_sip((1,)).write_zip(folder).read_bytes())
        assert api.wait_final("submitter_own", response.json()["transfer_id"])["status"] == "accepted"
        yield Target(api, schemathesis.openapi.from_asgi("/openapi.json", api.client.app))


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> str | None:
    """Run one operation's generated cases (valid or invalid ones); the shrunk failure, if any."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # no invalid request exists for an operation without inputs
        return None
    except AssertionError as exc:  # schemathesis reports a failed check as an AssertionError group
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def test_no_request_makes_the_api_fail_or_break_its_contract(target: Target) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9, so its strategies are driven here.
    operations = [result.ok() for result in target.schema.get_all_operations()]
    assert len(operations) >= 15
    failures = [
        f"{caller}: {failure}"
        for caller in CALLERS
        for mode in GenerationMode
        for op in operations
        if (failure := _fuzz(op, mode, target.api.headers(caller)))
    ]
    assert not failures, "\n\n".join(failures)


def test_the_fuzzed_archive_still_verifies(target: Target) -> None:
    """Run after the property test: whatever it sent, the audit log's chain is intact."""
    response = target.api.client.get("/api/v1/audit-log/verify", headers=target.api.headers("auditor"))
    assert response.status_code == 200 and response.json()["ok"] is True
