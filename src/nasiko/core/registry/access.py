"""Who may see, call and manage an agent. Pure functions: the API, gateway and router share
them, so a rule is written once (docs/security.md has the matrix).

- superusers: everything.
- the owner: everything on their agents.
- visibility "public": every logged-in user and every agent may see and call it.
- visibility "shared": users and agents with a live grant may see and call it; a grant that
  lists skills covers only requests naming one of them (403 otherwise: the caller knows the
  agent exists).
- visibility "private": only the owner and superusers; grants are kept but have no effect.
Managing (update, delete, grants, versions, lifecycle) is for the owner and superusers.
Anyone who may not see an agent is told it does not exist (404), never 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from nasiko.core.models import Principal, utcnow
from nasiko.core.registry.models import Grant


def live(grant: Grant, now: datetime | None = None) -> bool:
    return grant.expires_at is None or grant.expires_at > (now or utcnow())


def matching_grant(principal: Principal, grants: Iterable[Grant]) -> Grant | None:
    now = utcnow()
    for grant in grants:
        if (
            grant.grantee_type == principal.kind
            and grant.grantee_id == principal.id
            and live(grant, now)
        ):
            return grant
    return None


def can_manage(principal: Principal, owner_id: str) -> bool:
    return principal.is_superuser or (principal.kind == "user" and principal.id == owner_id)


def can_see(
    principal: Principal,
    *,
    owner_id: str,
    visibility: str,
    agent_id: str,
    grants: Iterable[Grant],
) -> bool:
    if can_manage(principal, owner_id):
        return True
    if principal.kind == "agent" and principal.id == agent_id:
        return True
    if visibility == "public":
        return True
    if visibility == "shared":
        return matching_grant(principal, grants) is not None
    return False


def can_call_skill(
    principal: Principal,
    *,
    owner_id: str,
    visibility: str,
    agent_id: str,
    grants: Iterable[Grant],
    skill: str | None,
) -> bool:
    """May call the agent (with ``skill``, when the request names one).

    A grant limited to some skills only covers requests that name one of them: a request
    that names no skill could reach any of the agent's skills.
    """
    if can_manage(principal, owner_id) or visibility == "public":
        return True
    if principal.kind == "agent" and principal.id == agent_id:
        return True
    if visibility != "shared":
        return False
    grant = matching_grant(principal, grants)
    if grant is None:
        return False
    return grant.skills is None or (skill is not None and skill in grant.skills)
