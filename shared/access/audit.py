"""The append-only audit log: every write records who did what, with the state before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.models import AuditEntry
from shared.core import clock


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_key: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    session.add(
        AuditEntry(
            at=clock.now(), actor=actor, action=action, entity=entity, entity_key=entity_key, before=before, after=after
        )
    )
    await session.flush()
