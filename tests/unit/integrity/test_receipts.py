"""Receipt signatures: any change is detected, and old receipts survive rotation and restore."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive_service.receipts import sign_receipt, verify_receipt_signature
from archive_service.signing import KeyRing

FILE_FIELDS = ("role", "name", "sha256", "size", "format", "puid")


def sample_receipt() -> dict[str, Any]:
    def file(*values: Any) -> dict[str, Any]:
        return dict(zip(FILE_FIELDS, values, strict=True))

    return {
        "transfer_id": "tr-20250131-0001",
        "status": "accepted",
        "profile": "tt02-2019",
        "dossier": {"code": "000.00.12.H47.1.2019.01", "aip_id": "aip-7f3a"},
        "documents": [
            {
                "code": "000.00.12.H47.1.2019.01.001",
                "files": [
                    file("original", "Công văn 12.pdf", "a" * 64, 120_345, "PDF 1.7", "fmt/276"),
                    file(
                        "preservation", "Công văn 12.pdf", "b" * 64, 130_001, "PDF/A-2b", "fmt/476"
                    ),
                ],
            },
            {
                "code": "000.00.12.H47.1.2019.01.002",
                "files": [file("original", "ảnh.tif", "c" * 64, 9_000_000, "TIFF", "fmt/353")],
            },
        ],
        "counts": {"dossiers": 1, "files": 3},
        "findings": [],
        "received_at": "2025-01-31T08:00:00.123456+00:00",
    }


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))
    else:
        yield path


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return "x"


def replaced(receipt: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    result = copy.deepcopy(receipt)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new(parent[path[-1]])
    return result


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "home")


def test_round_trip_through_json(keyring: KeyRing) -> None:
    original = sample_receipt()
    receipt = sign_receipt(keyring, original)
    assert receipt["key_id"] == keyring.current().key_id
    assert list(receipt)[-1] == "signature"
    assert original == sample_receipt()
    assert verify_receipt_signature(keyring, receipt)
    assert verify_receipt_signature(keyring.public_keys(), json.loads(json.dumps(receipt)))


def test_any_change_to_any_field_fails(keyring: KeyRing) -> None:
    receipt = sign_receipt(keyring, sample_receipt())
    paths = [path for path in leaf_paths(receipt) if path != ("signature",)]
    assert ("documents", 0, "files", 1, "sha256") in paths
    for path in paths:
        assert not verify_receipt_signature(keyring, replaced(receipt, path, changed)), path
        if isinstance(path[-1], str):
            smaller = copy.deepcopy(receipt)
            parent = smaller
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
            assert not verify_receipt_signature(keyring, smaller), path
    swapped = replaced(receipt, ("documents", 0, "files"), lambda files: files[::-1])
    assert not verify_receipt_signature(keyring, swapped)
    assert not verify_receipt_signature(keyring, {**receipt, "extra": 1})
    assert not verify_receipt_signature(keyring, {**receipt, "counts": {"dossiers": 1}})
    assert verify_receipt_signature(keyring, dict(reversed(receipt.items())))


def test_missing_or_foreign_signature_fails(keyring: KeyRing, tmp_path: Path) -> None:
    receipt = sign_receipt(keyring, sample_receipt())
    assert not verify_receipt_signature(keyring, {**receipt, "signature": None})
    assert not verify_receipt_signature(
        keyring, {k: v for k, v in receipt.items() if k != "key_id"}
    )
    foreign = sign_receipt(KeyRing(tmp_path / "elsewhere"), sample_receipt())
    assert not verify_receipt_signature(keyring, foreign)
    assert not verify_receipt_signature(keyring, {**foreign, "key_id": receipt["key_id"]})


def test_re_signing_replaces_key_id_and_signature(keyring: KeyRing) -> None:
    old = sign_receipt(keyring, sample_receipt())
    keyring.rotate()
    new = sign_receipt(keyring, old)
    assert new["key_id"] != old["key_id"]
    assert new["signature"] != old["signature"]
    assert verify_receipt_signature(keyring, new)


def test_rotation_keeps_old_receipts_verifiable(keyring: KeyRing) -> None:
    old = sign_receipt(keyring, sample_receipt())
    keyring.rotate()
    new = sign_receipt(keyring, sample_receipt())
    assert new["key_id"] != old["key_id"]
    assert verify_receipt_signature(keyring, old)
    assert verify_receipt_signature(keyring, new)
    assert not verify_receipt_signature(keyring, {**old, "key_id": new["key_id"]})


def test_old_receipts_verify_after_restoring_a_backup(keyring: KeyRing, tmp_path: Path) -> None:
    old = sign_receipt(keyring, sample_receipt())
    keyring.rotate()
    backup = keyring.export(tmp_path / "keys.json")
    restored = KeyRing(tmp_path / "fresh")
    assert not verify_receipt_signature(restored, old)
    restored.import_backup(backup)
    assert verify_receipt_signature(restored, old)
    assert sign_receipt(restored, sample_receipt())["key_id"] == keyring.current().key_id
