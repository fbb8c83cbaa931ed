from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.models import AuditEntry
from nasiko.storage.sql.tables import audit_log


class SqlAuditRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, entry: AuditEntry) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(audit_log.insert().values(**entry.model_dump(exclude={"id"})))

    async def list(
        self,
        *,
        limit: int,
        offset: int,
        actor_id: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        **_: Any,
    ) -> tuple[list[AuditEntry], int]:
        where: list[Any] = []
        if actor_id:
            where.append(audit_log.c.actor_id == actor_id)
        if action:
            # "login" matches "login.success" and "login.failure" too.
            where.append((audit_log.c.action == action) | audit_log.c.action.like(f"{action}.%"))
        if target_id:
            where.append(audit_log.c.target_id == target_id)
        if outcome:
            where.append(audit_log.c.outcome == outcome)
        if since:
            where.append(audit_log.c.at >= since)
        if until:
            where.append(audit_log.c.at < until)
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(audit_log).where(*where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(audit_log)
                    .where(*where)
                    .order_by(audit_log.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).mappings()
            return [AuditEntry.model_validate(dict(r)) for r in rows], int(total)
