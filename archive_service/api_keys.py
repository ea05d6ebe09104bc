"""API keys for management systems: created bound to a user and an organisation, stored hashed.

`archive users key --organisation ORG [--role submitter]` creates a key and shows the secret
once; only its SHA-256 is kept. A plain SHA-256 (no salt, no slow KDF) is enough and deliberate
here: a key is 32 random bytes from `secrets`, so its 256 bits of entropy cannot be guessed
from the hash, whereas a slow password hash (bcrypt, argon2) only protects low-entropy secrets
and would cost every API request tens of milliseconds. An unsalted hash also lets a request find
its key by an indexed lookup instead of trying every stored hash. Passwords (web UI sign-in)
are another matter and must use a slow, salted KDF.

The organisation a key is bound to is the submitter's organisation for the API: a transfer's
METS creator agent must equal it (rule `pkg.mets.agent`), and a submitter reads only its own
organisation's transfers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import audit_log, users
from archive_service.access import Reader
from archive_service.catalog.models import ApiKey, User
from archive_service.config import Settings
from archive_service.errors import ArchiveError, BadRequestError, ExitCode
from archive_service.states import Role

KEY_PREFIX = "ak_"
_KEY_BYTES = 32
_MAX_KEY_LENGTH = 200
_MAX_ORGANISATION_LENGTH = 64  # the catalog column's width


class AuthenticationError(ArchiveError):
    """No API key, or one that is unknown or revoked (HTTP 401)."""

    code = "unauthenticated"
    http_status = 401
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `secret` is shown to the operator once and never stored."""

    key_id: int
    user: str
    role: Role
    organisation: str
    secret: str


def hash_key(secret: str) -> str:
    """The stored form of a key (see the module docstring for why SHA-256 suffices)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    session: Session,
    actor: str,
    organisation: str,
    *,
    role: Role | None = None,
    user_name: str | None = None,
) -> CreatedKey:
    """Create a key bound to `organisation`, for the existing user `user_name` or for a new
    system account with `role` (default submitter); audited without the secret."""
    organisation = organisation.strip()
    if not organisation or len(organisation) > _MAX_ORGANISATION_LENGTH:
        raise BadRequestError(
            f"Mã định danh cơ quan phải có 1–{_MAX_ORGANISATION_LENGTH} ký tự",
            f"The organisation identifier must have 1 to {_MAX_ORGANISATION_LENGTH} characters",
        )
    if user_name is None:
        chosen = role or Role.SUBMITTER
        name = f"key-{organisation}-{secrets.token_hex(4)}"
        user = users.add_user(session, actor, name, chosen, organisation)
    else:
        user = users.get_user(session, user_name)
        if role is not None and Role(user.role) is not role:
            raise BadRequestError(
                f"Người dùng '{user_name}' có vai trò {user.role}, không phải {role}",
                f"The user '{user_name}' has the role {user.role}, not {role}",
            )
    secret = KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)
    row = ApiKey(user_id=user.id, organisation=organisation, key_hash=hash_key(secret))
    session.add(row)
    session.flush()
    audit_log.append(
        session,
        actor,
        audit_log.AuditAction.API_KEY_CREATE,
        user.name,
        {"key_id": row.id, "organisation": organisation, "role": str(user.role)},
    )
    session.commit()
    return CreatedKey(row.id, user.name, Role(user.role), organisation, secret)


def reader_for_key(session: Session, secret: str | None, settings: Settings) -> Reader:
    """The caller a bearer key stands for, with its user's role and grants and the key's
    organisation; AuthenticationError for a missing, unknown or revoked key."""
    if not secret or len(secret) > _MAX_KEY_LENGTH:
        raise _unauthenticated()
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    if row is None or row.revoked:
        raise _unauthenticated()
    user = session.get(User, row.user_id)
    if user is None:
        raise _unauthenticated()
    reader = users.reader_for(session, user.name, settings)
    return Reader(reader.name, reader.role, row.organisation, reader.grants, reader.public_regimes)


def _unauthenticated() -> AuthenticationError:
    return AuthenticationError(
        "Thiếu khóa API hoặc khóa không hợp lệ (Authorization: Bearer <khóa>)",
        "Missing or invalid API key (Authorization: Bearer <key>)",
    )
