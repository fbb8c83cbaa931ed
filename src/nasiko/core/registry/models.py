from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from nasiko.core.models import Entity

Visibility = Literal["private", "shared", "public"]
AgentStatus = Literal["registered", "deploying", "running", "unhealthy", "stopped", "failed"]
GranteeType = Literal["user", "agent"]
SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
TAG_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:/-]{0,63}$")


class Agent(Entity):
    id: str
    slug: str
    name: str
    description: str = ""
    owner_id: str
    visibility: Visibility = "private"
    tags: list[str] = Field(default_factory=list)
    status: AgentStatus = "registered"
    endpoints: list[str] = Field(default_factory=list)
    current_version: int = 1
    card: dict[str, Any]
    source: dict[str, Any] | None = None
    runtime: str | None = None
    rate_limit: float | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class AgentVersion(Entity):
    agent_id: str
    version: int
    card: dict[str, Any]
    card_original: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    artifact: str | None = None
    note: str | None = None
    created_by: str | None = None
    created_at: datetime


class Grant(Entity):
    id: str
    agent_id: str
    grantee_type: GranteeType
    grantee_id: str
    skills: list[str] | None = None
    expires_at: datetime | None = None
    created_by: str | None = None
    created_at: datetime


def _check_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    out: list[str] = []
    for tag in tags:
        if not TAG_RE.match(tag):
            raise ValueError(f"tag '{tag}': use up to 64 letters, digits or _.:/-")
        if tag.lower() not in out:
            out.append(tag.lower())
    if len(out) > 32:
        raise ValueError("at most 32 tags")
    return out


class RegisterAgent(BaseModel):
    """Register an agent that already runs somewhere: give its card, or its base URL."""

    url: str | None = Field(None, description="Base URL; the card is fetched from it.")
    card: dict[str, Any] | None = Field(None, description="The agent card (v1.0, v0.3, seed).")
    slug: str | None = Field(None, description="DNS-safe id; derived from the name if omitted.")
    visibility: Visibility = "private"
    tags: list[str] | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and not SLUG_RE.match(v):
            raise ValueError(
                "use 1-63 lower-case letters, digits or '-', not starting or ending with '-'"
            )
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return _check_tags(v)


class UpdateAgent(BaseModel):
    description: str | None = Field(None, max_length=4000)
    tags: list[str] | None = None
    visibility: Visibility | None = None
    rate_limit: float | None = Field(None, gt=0, description="Requests/second for all callers.")

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return _check_tags(v)


class NewGrant(BaseModel):
    grantee: str = Field(description="Username or user id; for agents, the agent's slug or id.")
    grantee_type: GranteeType = "user"
    skills: list[str] | None = Field(None, description="Limit the grant to these skill ids.")
    expires_at: datetime | None = None
