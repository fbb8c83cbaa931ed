"""Entities shared across the platform, as Pydantic models (what repositories return)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "superuser"]
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Entity(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class User(Entity):
    id: str
    username: str
    email: str
    role: Role = "user"
    is_active: bool = True
    github_id: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def is_superuser(self) -> bool:
        return self.role == "superuser"


class UserWithSecret(User):
    password_hash: str | None = None


class TokenRecord(Entity):
    id: str
    user_id: str
    kind: Literal["refresh", "api"]
    name: str | None = None
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(Entity):
    id: int | None = None
    at: datetime = Field(default_factory=utcnow)
    actor_id: str | None = None
    actor_name: str | None = None
    action: str
    target_type: str | None = None
    target_id: str | None = None
    source_ip: str | None = None
    outcome: Literal["success", "failure"] = "success"
    details: dict[str, Any] | None = None


class Credential(Entity):
    """A stored third-party secret; ``secret`` is plaintext only in memory."""

    id: str
    user_id: str | None
    kind: str
    name: str = "default"
    secret: str
    meta: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Principal(BaseModel):
    """Who is calling: a user (by JWT or API token) or an agent (by its identity token)."""

    kind: Literal["user", "agent"]
    id: str
    name: str
    role: Role = "user"
    token_id: str | None = None  # API token or refresh session behind the credential

    @property
    def is_superuser(self) -> bool:
        return self.kind == "user" and self.role == "superuser"
