"""All SQL about API keys and reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.access import keys as key_rules
from shared.access.models import ROLES, ApiKey, AuditEntry
from shared.core import clock
from shared.core.errors import InvalidInput, NotFound, Problem, Unauthorized
from shared.org_units import store as org_store


async def create_key(
    session: AsyncSession, *, name: str, role: str, org: str | None, pepper: str, actor: str
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext, which is shown once and never stored."""
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role '{role}'; use one of {', '.join(ROLES)}", [Problem(f"unknown role '{role}'", field="role")]
        )
    if role in ("integration", "assessor") and org is None:
        raise InvalidInput(
            f"a key with role '{role}' needs the org unit it acts for (--org CODE)",
            [Problem("required for this role", field="org")],
        )
    org_id = (await org_store.get_by_code(session, org)).id if org else None
    new = key_rules.generate(pepper)
    row = ApiKey(name=name, prefix=new.prefix, key_hash=new.key_hash, role=role, org_id=org_id, created_at=clock.now())
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="create",
        entity="api_key",
        entity_key=new.prefix,
        after={"name": name, "role": role, "org": org},
    )
    return row, new.plaintext


async def revoke_key(session: AsyncSession, *, prefix: str, actor: str) -> ApiKey:
    row = (await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no API key with prefix '{prefix}'")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await audit.record(
            session,
            actor=actor,
            action="revoke",
            entity="api_key",
            entity_key=prefix,
            before={"revoked": False},
            after={"revoked": True},
        )
    return row


async def list_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.execute(select(ApiKey).order_by(ApiKey.id))).scalars().all()


async def authenticate(session: AsyncSession, plaintext: str, pepper: str) -> ApiKey:
    prefix = key_rules.prefix_of(plaintext)
    row = None
    if prefix is not None:
        row = (await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
    if row is None or not key_rules.matches(plaintext, row.key_hash, pepper):
        raise Unauthorized("the API key is not valid; ask the 数字政府专班 for a key")
    if row.revoked_at is not None:
        raise Unauthorized(f"the API key {row.prefix} was revoked at {row.revoked_at.isoformat()}")
    return row


async def audit_entries(session: AsyncSession, *, entity: str | None = None, limit: int = 100) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    return (await session.execute(stmt)).scalars().all()
