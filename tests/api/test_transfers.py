"""Uploading packages: 202 then background processing, idempotency, refusals before processing."""

from __future__ import annotations

import io
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from archive_service.config import PackageLimits
from tests.api.conftest import OTHER_ORG, ApiArchive, open_archive
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


def _package(tmp_path: Path, pages: tuple[int, ...] = (1, 1)) -> bytes:
    return valid_sip(pages).write_zip(tmp_path).read_bytes()


def _eventually_empty(folder: Path, timeout: float = 10) -> bool:
    """The worker removes an upload just after recording the transfer's final state."""
    deadline = time.monotonic() + timeout
    while any(folder.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _count(home: Path, sql: str) -> int:
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        return int(db.execute(sql).fetchone()[0])


def test_a_transfer_is_accepted_end_to_end_with_its_receipt(api: ApiArchive, tmp_path: Path) -> None:
    response = api.submit("submitter_own", _package(tmp_path))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"transfer_id", "status_url"}
    assert body["status_url"] == f"/api/v1/transfers/{body['transfer_id']}"
    assert response.headers["Location"] == body["status_url"]
    state = api.wait_final("submitter_own", body["transfer_id"])
    assert state["status"] == "accepted", state
    assert state["retryable"] is False
    receipt = state["receipt"]
    assert receipt["status"] == "accepted"
    assert receipt["counts"] == {"dossiers": 1, "files": 2}
    assert receipt["key_id"] and receipt["signature"]
    assert _count(api.home, "select count(*) from dossier") == 1
    assert _eventually_empty(api.home / "work" / "incoming")  # the upload is removed once the transfer ended


def test_same_idempotency_key_and_body_gives_the_same_transfer_and_one_dossier(
    api: ApiArchive, tmp_path: Path
) -> None:
    package = _package(tmp_path)
    first = api.submit("submitter_own", package, key="order-42")
    again = api.submit("submitter_own", package, key="order-42")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    transfer_id = first.json()["transfer_id"]
    assert api.wait_final("submitter_own", transfer_id)["status"] == "accepted"
    after = api.submit("submitter_own", package, key="order-42")
    assert after.status_code == 202 and after.json() == first.json()
    assert _count(api.home, "select count(*) from transfer") == 1
    assert _count(api.home, "select count(*) from dossier") == 1


def test_same_package_without_a_key_resolves_to_the_earlier_transfer(api: ApiArchive, tmp_path: Path) -> None:
    package = _package(tmp_path)
    first = api.submit("submitter_own", package).json()["transfer_id"]
    original = api.wait_final("submitter_own", first)
    second = api.submit("submitter_own", package).json()["transfer_id"]
    state = api.wait_final("submitter_own", second)
    assert state["status"] == "accepted"
    assert state["same_as"] == first
    assert state["receipt"] == original["receipt"]
    assert _count(api.home, "select count(*) from dossier") == 1


def test_same_key_with_another_body_is_a_conflict(api: ApiArchive, tmp_path: Path) -> None:
    assert api.submit("submitter_own", _package(tmp_path / "a"), key="k-1").status_code == 202
    response = api.submit("submitter_own", _package(tmp_path / "b", (2,)), key="k-1")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert {"message_vi", "message_en", "details"} <= set(response.json())


def test_idempotency_keys_are_scoped_to_the_organisation(api: ApiArchive, tmp_path: Path) -> None:
    first = api.submit("submitter_own", _package(tmp_path / "a"), key="shared")
    other = api.submit("submitter_other", _package(tmp_path / "b", (2,)), key="shared")
    assert first.status_code == other.status_code == 202
    assert first.json()["transfer_id"] != other.json()["transfer_id"]


def test_creator_agent_must_be_the_submitters_organisation(api: ApiArchive, tmp_path: Path) -> None:
    response = api.submit("submitter_other", _package(tmp_path))
    assert response.status_code == 202
    state = api.wait_final("submitter_other", response.json()["transfer_id"])
    assert state["status"] == "rejected"
    assert "pkg.mets.agent" in {f["rule"] for f in state["findings"]}
    assert OTHER_ORG in " ".join(f["message_en"] for f in state["findings"])


def test_an_unreadable_package_inside_a_zip_is_rejected_in_the_transfer(api: ApiArchive) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a package")
    response = api.submit("submitter_own", buffer.getvalue())
    assert response.status_code == 202
    state = api.wait_final("submitter_own", response.json()["transfer_id"])
    assert state["status"] == "rejected" and state["findings"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
def test_other_content_types_are_415(api: ApiArchive, content_type: str) -> None:
    headers = api.headers("submitter_own", **({"Content-Type": content_type} if content_type else {}))
    response = api.client.post("/api/v1/transfers", content=b"PK\x03\x04", headers=headers)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not any((api.home / "work").rglob("*.zip*"))


def test_a_body_that_is_not_a_zip_is_400(api: ApiArchive) -> None:
    response = api.submit("submitter_own", b"definitely not a zip file")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_package"
    assert not any((api.home / "work" / "incoming").iterdir())


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[ApiArchive]:
    yield from open_archive(tmp_path / "small", limits=PackageLimits(max_total_bytes=10_000))


def test_a_body_over_the_limit_is_413_declared_or_streamed(small_limit: ApiArchive) -> None:
    declared = small_limit.submit("submitter_own", b"PK" + b"\0" * 20_000)
    assert declared.status_code == 413
    assert declared.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(10):
            yield b"\0" * 4096

    headers = small_limit.headers("submitter_own", **{"Content-Type": "application/zip"})
    streamed = small_limit.client.post("/api/v1/transfers", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert not any((small_limit.home / "work" / "incoming").iterdir())


def test_validate_answers_without_storing(api: ApiArchive, tmp_path: Path) -> None:
    headers = api.headers("submitter_own", **{"Content-Type": "application/zip"})
    response = api.client.post("/api/v1/validate", content=_package(tmp_path), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "valid"
    other = api.headers("submitter_other", **{"Content-Type": "application/zip"})
    refused = api.client.post("/api/v1/validate", content=_package(tmp_path / "b"), headers=other).json()
    assert refused["status"] == "invalid"
    assert "pkg.mets.agent" in {f["rule"] for f in refused["findings"]}
    assert _count(api.home, "select count(*) from transfer") == 0


def test_a_queued_transfer_left_by_a_stopped_server_finishes_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive_service.api.background import TransferWorker

    home = tmp_path / "home"
    with monkeypatch.context() as patch:
        patch.setattr(TransferWorker, "submit", lambda self, transfer_id: None)  # the server dies first
        for api in open_archive(home):
            response = api.submit("submitter_own", _package(tmp_path))
            transfer_id = response.json()["transfer_id"]
            assert api.client.get(
                f"/api/v1/transfers/{transfer_id}", headers=api.headers("admin")
            ).json()["status"] == "queued"
    for api in open_archive(home):
        state = api.wait_final("admin", transfer_id)
        assert state["status"] == "accepted"
        assert state["receipt"]["transfer_id"] == transfer_id
    assert _count(home, "select count(*) from transfer") == 1
    assert _count(home, "select count(*) from dossier") == 1


def test_concurrent_uploads_with_one_key_make_one_transfer(api: ApiArchive, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    package = _package(tmp_path)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: api.submit("submitter_own", package, key="same-key"), range(6)))
    assert {r.status_code for r in responses} == {202}
    ids = {r.json()["transfer_id"] for r in responses}
    assert len(ids) == 1
    assert api.wait_final("submitter_own", ids.pop())["status"] == "accepted"
    assert _count(api.home, "select count(*) from transfer") == 1
    assert _count(api.home, "select count(*) from dossier") == 1


def test_a_retryable_failure_completes_when_the_same_upload_is_sent_again(
    api: ApiArchive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive_service.errors import BackendUnavailableError
    from archive_service.replicas import ReplicatedStore

    package = _package(tmp_path)
    with monkeypatch.context() as patch:

        def down(*_: object, **__: object) -> None:
            raise BackendUnavailableError("kho không truy cập được", "the object store is unavailable")

        patch.setattr(ReplicatedStore, "put_file", down)
        transfer_id = api.submit("submitter_own", package, key="retry-me").json()["transfer_id"]
        failed = api.wait_final("submitter_own", transfer_id)
        assert failed["status"] == "failed" and failed["retryable"] is True
        assert failed["error"]["code"] == "backend_unavailable"
    again = api.submit("submitter_own", package, key="retry-me")
    assert again.json()["transfer_id"] == transfer_id
    deadline = time.monotonic() + 120
    while (state := api.wait_final("submitter_own", transfer_id))["status"] == "failed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "accepted"
    assert _count(api.home, "select count(*) from dossier") == 1


def test_the_same_package_sent_concurrently_without_keys_is_processed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from archive_service.api import background

    monkeypatch.setattr(background, "TRANSFER_WORKERS", 3)  # several worker threads, whatever the machine
    package = _package(tmp_path)
    for api in open_archive(tmp_path / "home"):
        with ThreadPoolExecutor(max_workers=3) as pool:
            responses = list(pool.map(partial(api.submit, "submitter_own"), [package] * 3))
        states = [api.wait_final("submitter_own", r.json()["transfer_id"]) for r in responses]
        home = api.home
    assert {s["status"] for s in states} == {"accepted"}
    assert len({s["receipt"]["transfer_id"] for s in states}) == 1
    assert sum(1 for s in states if s.get("same_as") is None) == 1
    assert _count(home, "select count(*) from dossier") == 1


def test_metrics_count_what_the_archive_holds(api: ApiArchive, tmp_path: Path) -> None:
    def metric(name: str) -> float:
        text = api.client.get("/api/v1/metrics").text
        return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name)))

    assert metric('archive_transfers{status="accepted"}') == 0
    response = api.submit("submitter_own", _package(tmp_path))
    assert api.wait_final("submitter_own", response.json()["transfer_id"])["status"] == "accepted"
    assert metric('archive_transfers{status="accepted"}') == 1
    assert metric("archive_stored_objects") > 0
    assert metric("archive_storage_copies") == 2
    page = api.client.get("/api/v1/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    assert "Hồ sơ" not in page.text and "sha256" not in page.text  # counts only, no content
