"""Uploads as multipart/form-data (the ZIP in the `file` part), beside the plain ZIP body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from archive_service.config import PackageLimits
from tests.api.conftest import ApiArchive, open_archive
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow

BOUNDARY = "----archive-test-boundary"


def _multipart(package: bytes, *, field: str = "file", extra: bytes = b"", end: bool = True) -> bytes:
    parts = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nlô 12\r\n".encode()
        + f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"hs.zip\"\r\n"
        "Content-Type: application/zip\r\n\r\n".encode()
        + package
        + b"\r\n"
        + extra
    )
    return parts + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def _post(api: ApiArchive, body: bytes, path: str = "/api/v1/transfers", **headers: str) -> httpx.Response:
    sent = api.headers(
        "submitter_own", **{"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers}
    )
    response: httpx.Response = api.client.post(path, content=body, headers=sent)
    return response


def _leftovers(api: ApiArchive) -> list[Path]:
    return [p for p in (api.home / "work").rglob("*") if p.is_file() and ".zip" in p.name]


def test_a_multipart_upload_is_a_transfer_like_a_plain_one(api: ApiArchive, tmp_path: Path) -> None:
    package = valid_sip((1,)).write_zip(tmp_path).read_bytes()
    first = api.client.post(
        "/api/v1/transfers",
        files={"file": ("hs.zip", package, "application/zip")},
        headers=api.headers("submitter_own", **{"Idempotency-Key": "lot-12"}),
    )
    assert first.status_code == 202, first.text
    state = api.wait_final("submitter_own", first.json()["transfer_id"])
    assert state["status"] == "accepted"
    # The key is matched on the package's bytes, not the envelope: a plain retry is the same transfer.
    again = api.submit("submitter_own", package, key="lot-12")
    assert again.status_code == 202
    assert again.json()["transfer_id"] == first.json()["transfer_id"]


def test_validate_takes_multipart_too(api: ApiArchive, tmp_path: Path) -> None:
    package = valid_sip((1,)).write_zip(tmp_path).read_bytes()
    response = _post(api, _multipart(package), "/api/v1/validate")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "valid"


@pytest.mark.parametrize(
    "body",
    [
        _multipart(b"PK\x03\x04 not really", field="package"),  # no `file` part
        _multipart(b"PK\x03\x04", end=False),  # truncated: no closing boundary
        b"this is not multipart at all",
        _multipart(b"just some text"),  # a `file` part that is not a ZIP
    ],
    ids=["no-file-part", "truncated", "garbage", "not-a-zip"],
)
def test_a_broken_multipart_body_is_400_and_leaves_nothing(api: ApiArchive, body: bytes) -> None:
    response = _post(api, body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message_vi", "message_en", "details"}
    assert not _leftovers(api)


def test_a_multipart_content_type_without_boundary_is_400(api: ApiArchive) -> None:
    headers = api.headers("submitter_own", **{"Content-Type": "multipart/form-data"})
    response = api.client.post("/api/v1/transfers", content=_multipart(b"PK"), headers=headers)
    assert response.status_code == 400


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[ApiArchive]:
    yield from open_archive(tmp_path / "small", limits=PackageLimits(max_total_bytes=10_000))


def test_a_multipart_package_over_the_limit_is_413(small_limit: ApiArchive) -> None:
    def chunks() -> Iterator[bytes]:  # streamed without Content-Length
        yield _multipart(b"", end=False)[:-2]
        for _ in range(10):
            yield b"\0" * 4096

    headers = small_limit.headers(
        "submitter_own", **{"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    response = small_limit.client.post("/api/v1/transfers", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not _leftovers(small_limit)
