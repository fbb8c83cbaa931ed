"""The audit trail of security-relevant actions."""

from __future__ import annotations

import logging
from typing import Any

from nasiko.core.models import AuditEntry, Principal
from nasiko.core.ports import AuditRepo

log = logging.getLogger("nasiko.audit")


class AuditService:
    def __init__(self, repo: AuditRepo) -> None:
        self.repo = repo

    async def record(
        self,
        action: str,
        *,
        actor: Principal | None = None,
        actor_name: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        source_ip: str | None = None,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> None:
        entry = AuditEntry(
            action=action,
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else actor_name,
            target_type=target_type,
            target_id=target_id,
            source_ip=source_ip,
            outcome=outcome,  # type: ignore[arg-type]
            details=details,
        )
        await self.repo.add(entry)
        log.info(
            "audit %s %s actor=%s target=%s:%s",
            action,
            outcome,
            entry.actor_name,
            target_type,
            target_id,
        )
