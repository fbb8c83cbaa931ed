"""User accounts: registration, listing, deletion, passwords, the first superuser."""

from __future__ import annotations

import builtins
import re
import secrets
import uuid

from pydantic import BaseModel, Field, field_validator

from nasiko.core.audit import AuditService
from nasiko.core.models import Page, Principal, Role, User, utcnow
from nasiko.core.ports import Event, EventBus, TokenRepo, UserRepo
from nasiko.core.security import hash_password, verify_password
from nasiko.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

USERNAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8


class NewUser(BaseModel):
    username: str = Field(description="2 to 64 letters, digits, '.', '_' or '-'.")
    email: str
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Role = "user"

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not USERNAME_RE.match(v):
            raise ValueError(
                "use 2 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL_RE.match(v):
            raise ValueError("not an e-mail address")
        return v.lower()


class UserService:
    def __init__(
        self, users: UserRepo, tokens: TokenRepo, audit: AuditService, *, allow_registration: bool
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.audit = audit
        self.allow_registration = allow_registration
        self.events: EventBus | None = None  # set by bootstrap; see AuthService.events

    async def _revoked(self, user_id: str) -> None:
        if self.events is not None:
            await self.events.publish(Event("auth", "credentials.revoked", {"user_id": user_id}))

    async def create(
        self,
        data: NewUser,
        *,
        actor: Principal | None,
        source_ip: str | None = None,
        github_id: str | None = None,
    ) -> User:
        by_superuser = actor is not None and actor.is_superuser
        if not by_superuser:
            if data.role != "user":
                raise Forbidden("only superusers can create superusers")
            if actor is None and not self.allow_registration:
                raise Forbidden("self-registration is switched off; ask a superuser for an account")
        now = utcnow()
        user = User(
            id=str(uuid.uuid4()),
            username=data.username,
            email=data.email,
            role=data.role,
            github_id=github_id,
            created_at=now,
            updated_at=now,
        )
        await self.users.add(user, await hash_password(data.password))
        await self.audit.record(
            "user.created",
            actor=actor,
            actor_name=None if actor else data.username,
            target_type="user",
            target_id=user.id,
            source_ip=source_ip,
            details={"username": user.username, "role": user.role},
        )
        return user

    async def ensure_admin(self, *, username: str, email: str, password: str | None) -> str | None:
        """Create the first superuser if there are no users; returns a generated password."""
        if await self.users.count() > 0:
            return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        admin = NewUser(username=username, email=email, password=password, role="superuser")
        system = Principal(kind="user", id="system", name="system", role="superuser")
        try:
            await self.create(admin, actor=system)
        except Conflict:  # another replica created it first
            return None
        return generated

    async def get(self, user_id: str, *, actor: Principal) -> User:
        if not actor.is_superuser and actor.id != user_id:
            raise NotFound(f"no user '{user_id}'")
        user = await self.users.get(user_id) or await self.users.get_by_username(user_id)
        if user is None:
            raise NotFound(f"no user '{user_id}'")
        return user  # type: ignore[no-any-return]

    async def list(self, *, actor: Principal, limit: int, offset: int, q: str | None) -> Page[User]:
        if not actor.is_superuser:
            raise Forbidden("only superusers can list users; use `nasiko search users` instead")
        items, total = await self.users.list(limit=limit, offset=offset, q=q)
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def search(self, q: str, *, limit: int) -> builtins.list[User]:
        items, _ = await self.users.list(limit=limit, offset=0, q=q)
        return [u for u in items if u.is_active]

    async def delete(self, user_id: str, *, actor: Principal, source_ip: str | None) -> None:
        if not actor.is_superuser:
            raise Forbidden("only superusers can delete users")
        user = await self.users.get(user_id) or await self.users.get_by_username(user_id)
        if user is None:
            raise NotFound(f"no user '{user_id}'")
        if user.id == actor.id:
            raise InvalidInput("you cannot delete your own account")
        await self.users.delete(user.id)
        await self._revoked(user.id)
        await self.audit.record(
            "user.deleted",
            actor=actor,
            target_type="user",
            target_id=user.id,
            source_ip=source_ip,
            details={"username": user.username},
        )

    async def set_active(self, user_id: str, active: bool, *, actor: Principal) -> User:
        if not actor.is_superuser:
            raise Forbidden("only superusers can (de)activate users")
        user = await self.get(user_id, actor=actor)
        updated = await self.users.update(user.id, is_active=active)
        if not active:
            await self.tokens.revoke_all(user.id)
            await self._revoked(user.id)
        await self.audit.record(
            "user.activated" if active else "user.deactivated",
            actor=actor,
            target_type="user",
            target_id=user.id,
        )
        if updated is None:
            raise NotFound(f"no user '{user_id}'")
        return updated  # type: ignore[no-any-return]

    async def change_password(
        self, *, actor: Principal, current: str, new: str, source_ip: str | None
    ) -> None:
        if len(new) < MIN_PASSWORD:
            raise InvalidInput(
                f"the new password must have at least {MIN_PASSWORD} characters",
                details=[{"field": "new_password"}],
            )
        user = await self.users.get(actor.id)
        secret = await self.users.get_with_secret(user.username) if user else None
        if secret is None or not await verify_password(secret.password_hash, current):
            raise Unauthenticated("the current password is wrong")
        await self.users.update(actor.id, password_hash=await hash_password(new))
        # Other sessions end: whoever knew the old password must log in again.
        await self.tokens.revoke_all(actor.id, "refresh")
        await self._revoked(actor.id)
        await self.audit.record(
            "user.password_changed",
            actor=actor,
            target_type="user",
            target_id=actor.id,
            source_ip=source_ip,
        )
