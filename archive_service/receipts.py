"""Signing ingest receipts, and checking a receipt's signature (package-format.md, receipts).

The signature covers the receipt's canonical JSON (RFC 8785) without the `signature` field but
with `key_id`, so the sender can verify it with the archive's public key for that id even after
the key has been rotated. Whether the archive still holds what a receipt lists is checked
elsewhere; this module only answers "did this archive sign exactly this?".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive_service.signing import KeyRing, sign, verify_signature

KEY_ID = "key_id"
SIGNATURE = "signature"


def sign_receipt(keyring: KeyRing, receipt: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `receipt` with the current key's `key_id` and its `signature` (replacing any).

    The copy is deep, so later changes to the caller's dicts cannot alter a signed receipt.
    """
    key = keyring.current()
    signed = {name: copy.deepcopy(value) for name, value in receipt.items() if name != SIGNATURE}
    signed[KEY_ID] = key.key_id
    signed[SIGNATURE] = sign(key, signed)
    return signed


def verify_receipt_signature(
    keys: KeyRing | Mapping[str, Ed25519PublicKey], receipt: Mapping[str, Any]
) -> bool:
    """Whether `receipt` is, field for field, one this archive signed with one of its keys."""
    key_id, signature = receipt.get(KEY_ID), receipt.get(SIGNATURE)
    if not isinstance(key_id, str) or not isinstance(signature, str):
        return False
    public_keys = keys.public_keys() if isinstance(keys, KeyRing) else keys
    unsigned = {name: value for name, value in receipt.items() if name != SIGNATURE}
    return verify_signature(public_keys, key_id, unsigned, signature)
