from __future__ import annotations

from pathlib import Path

import pytest

from storage.factory import from_url
from storage.local import LocalObjectStore


@pytest.mark.parametrize(
    "url",
    ["file:///srv/lưu trữ/primary", "file:///srv/l%C6%B0u%20tr%E1%BB%AF/primary"],
)
def test_file_urls_give_a_local_store(url: str) -> None:
    store = from_url(url, "primary")
    assert isinstance(store, LocalObjectStore)
    assert store.root == Path("/srv/lưu trữ/primary")
    assert store.name == "primary"


def test_path_as_uri_round_trips(tmp_path: Path) -> None:
    root = tmp_path / "Kho lưu trữ"
    store = from_url(root.as_uri(), "replica")
    assert isinstance(store, LocalObjectStore)
    assert store.root == root


def test_localhost_is_the_local_host() -> None:
    store = from_url("file://localhost/srv/store", "primary")
    assert isinstance(store, LocalObjectStore)
    assert store.root == Path("/srv/store")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file://srv/store", "three slashes"),
        ("file:relative/store", "absolute path"),
        ("file:///srv/store?x=1", "query"),
        ("/srv/store", "scheme"),
        ("s3://AKIA:s3cr3t@minio:9000/archive?lock=maybe", "lock must be"),
        ("http://example.org/store", "unsupported"),
    ],
)
def test_other_urls_are_refused_without_echoing_them(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        from_url(url, "primary")
    assert "s3cr3t" not in str(caught.value)
