"""Signing keys: lazy creation, ids, file modes, rotation, backup and restore."""

from __future__ import annotations

import hashlib
import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from archive_service.errors import ConflictError, IntegrityError, NotFoundError
from archive_service.signing import (
    KeyRing,
    canonical_json,
    key_id_for,
    sign,
    verify_signature,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_created_lazily(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    assert keyring.public_keys() == {}
    assert not (tmp_path / "keys").exists()

    key = keyring.current()
    assert keyring.current().key_id == key.key_id
    assert KeyRing(tmp_path).current().key_id == key.key_id
    assert list(keyring.public_keys()) == [key.key_id]
    assert mode(tmp_path / "keys") == 0o700
    assert mode(tmp_path / "keys" / f"{key.key_id}.private.pem") == 0o600


def test_key_id_is_the_start_of_the_public_key_hash(tmp_path: Path) -> None:
    key = KeyRing(tmp_path).current()
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()[:16] == key_id_for(key.public_key)


def test_first_use_from_many_threads_creates_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: KeyRing(tmp_path).current().key_id, range(16)))
    assert len(ids) == 1
    assert len(KeyRing(tmp_path).public_keys()) == 1


def test_rotation_keeps_old_keys_for_verification(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    first = keyring.current()
    second = keyring.rotate()
    assert second.key_id != first.key_id
    assert keyring.current().key_id == second.key_id
    assert set(keyring.public_keys()) == {first.key_id, second.key_id}
    for private in (tmp_path / "keys").glob("*.private.pem"):
        assert mode(private) == 0o600
    assert not list((tmp_path / "keys").glob("*.tmp"))


def test_signature_round_trip(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    key = keyring.current()
    payload = {"b": [1, "hai"], "a": {"y": None, "x": True}, "title": "Hồ sơ"}
    signature = sign(key, payload)
    keys = keyring.public_keys()
    assert verify_signature(keys, key.key_id, payload, signature)
    assert verify_signature(keys, key.key_id, dict(reversed(payload.items())), signature)
    assert not verify_signature(keys, key.key_id, {**payload, "title": "Hồ sơ 2"}, signature)
    assert not verify_signature(keys, "0" * 16, payload, signature)
    assert not verify_signature(keys, key.key_id, payload, "not base64!")
    assert not verify_signature(keys, key.key_id, payload, signature[:-4])
    assert not verify_signature(keys, key.key_id, {"n": float("nan")}, signature)


def test_canonical_json_is_rfc_8785_and_refuses_non_json() -> None:
    assert (
        canonical_json({"b": 1.0, "a": "ồ", "c": [None]}) == '{"a":"ồ","b":1,"c":[null]}'.encode()
    )
    for bad in ({1: "x"}, {"n": float("inf")}, {"big": 2**53}, {"s": {1}}):
        with pytest.raises(ValueError):
            canonical_json(bad)


def test_export_and_import_restore_every_key(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path / "old")
    first = keyring.current()
    second = keyring.rotate()
    backup = keyring.export(tmp_path / "backup.json")
    assert mode(backup) == 0o600
    content = json.loads(backup.read_text())
    assert content["current"] == second.key_id
    assert set(content["keys"]) == {first.key_id, second.key_id}

    restored = KeyRing(tmp_path / "new")
    assert sorted(restored.import_backup(backup)) == sorted([first.key_id, second.key_id])
    assert restored.current().key_id == second.key_id
    assert set(restored.public_keys()) == {first.key_id, second.key_id}
    for private in (tmp_path / "new" / "keys").glob("*.private.pem"):
        assert mode(private) == 0o600
    assert restored.import_backup(backup) == []


def test_import_keeps_an_existing_current_key(tmp_path: Path) -> None:
    old = KeyRing(tmp_path / "old")
    old_key = old.current()
    backup = old.export(tmp_path)
    assert backup.parent == tmp_path
    assert backup.name.startswith("archive-keys-")

    other = KeyRing(tmp_path / "other")
    own = other.current()
    assert other.import_backup(backup) == [old_key.key_id]
    assert other.current().key_id == own.key_id
    assert set(other.public_keys()) == {own.key_id, old_key.key_id}


def test_export_never_overwrites(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path / "home")
    target = tmp_path / "backup.json"
    target.write_text("older backup")
    with pytest.raises(ConflictError):
        keyring.export(target)
    assert target.read_text() == "older backup"
    assert not list(tmp_path.glob(".backup.json.*"))


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    first = KeyRing(tmp_path / "a")
    first.current()
    backup = json.loads(first.export(tmp_path / "a.json").read_text())
    other = KeyRing(tmp_path / "b").current()
    other_pem = other.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ((key_id, entry),) = backup["keys"].items()
    damaged = [
        {**backup, "format": "other"},
        {**backup, "current": "ffffffffffffffff"},
        {**backup, "keys": {key_id: {**entry, "private_key": other_pem}}},
        {**backup, "keys": {key_id: {**entry, "private_key": "garbage"}}},
        {**backup, "keys": {key_id: "garbage"}},
    ]
    for number, content in enumerate(damaged):
        path = tmp_path / f"damaged{number}.json"
        path.write_text(json.dumps(content))
        with pytest.raises(IntegrityError):
            KeyRing(tmp_path / f"restore{number}").import_backup(path)
        assert KeyRing(tmp_path / f"restore{number}").public_keys() == {}
    (tmp_path / "not-json.json").write_text("{")
    with pytest.raises(IntegrityError):
        KeyRing(tmp_path / "c").import_backup(tmp_path / "not-json.json")
    with pytest.raises(NotFoundError):
        KeyRing(tmp_path / "c").import_backup(tmp_path / "absent.json")


def test_a_swapped_public_key_file_is_detected(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    first = keyring.current()
    second = keyring.rotate()
    keys = tmp_path / "keys"
    (keys / f"{first.key_id}.public.pem").write_bytes(
        (keys / f"{second.key_id}.public.pem").read_bytes()
    )
    with pytest.raises(IntegrityError):
        keyring.public_keys()


def test_a_damaged_private_key_file_is_detected(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    key = keyring.current()
    (tmp_path / "keys" / f"{key.key_id}.private.pem").write_bytes(b"garbage")
    with pytest.raises(IntegrityError):
        keyring.current()
