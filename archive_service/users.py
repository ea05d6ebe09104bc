"""Users, roles and access-regime grants; who the caller is (`--as USER`, or the local operator)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive_service import audit_log
from archive_service.access import Reader
from archive_service.catalog.models import RoleGrant, User
from archive_service.config import Settings
from archive_service.errors import ConflictError, NotFoundError
from archive_service.states import Role

OPERATOR = "operator"


def add_user(session: Session, actor: str, name: str, role: Role, organisation: str | None = None) -> User:
    """Create a user with one role; names are unique."""
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        raise ConflictError(f"Người dùng '{name}' đã tồn tại", f"The user '{name}' already exists")
    user = User(name=name, role=role, organisation=organisation)
    session.add(user)
    audit_log.append(session, actor, audit_log.AuditAction.USER_ADD, name, {"role": str(role)})
    session.commit()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.grants)).order_by(User.name)))


def get_user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name).options(selectinload(User.grants))).first()
    if user is None:
        raise NotFoundError(f"Không có người dùng '{name}'", f"There is no user '{name}'")
    return user


def grant(session: Session, actor: str, name: str, fonds: str, regime: str) -> RoleGrant:
    """Let `name` see records of `regime` in `fonds` (idempotent)."""
    user = get_user(session, name)
    for existing in user.grants:
        if existing.fonds_code == fonds and existing.access_regime == regime:
            return existing
    row = RoleGrant(user_id=user.id, fonds_code=fonds, access_regime=regime)
    session.add(row)
    audit_log.append(session, actor, audit_log.AuditAction.USER_GRANT, name, {"fonds": fonds, "access": regime})
    session.commit()
    return row


def reader_for(session: Session, name: str | None, settings: Settings) -> Reader:
    """The caller: a named user, or the local operator (an administrator) when none is given."""
    public = frozenset(settings.public_regimes)
    if name is None:
        return Reader(OPERATOR, Role.ADMIN, None, frozenset(), public)
    user = get_user(session, name)
    grants = frozenset((g.fonds_code, g.access_regime) for g in user.grants)
    return Reader(user.name, Role(user.role), user.organisation, grants, public)
