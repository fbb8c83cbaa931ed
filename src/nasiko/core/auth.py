"""Authentication: password login with brute-force backoff, JWT access + rotating refresh
tokens, personal API tokens, and turning any presented credential into a Principal."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from nasiko.core.audit import AuditService
from nasiko.core.models import Principal, TokenRecord, User, utcnow
from nasiko.core.ports import Cache, Event, EventBus, TokenRepo, UserRepo
from nasiko.core.security import (
    AGENT_TOKEN_PREFIX,
    API_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    JwtSigner,
    hash_token,
    new_opaque_token,
    verify_password,
)
from nasiko.errors import InvalidInput, NotFound, RateLimited, Unauthenticated

# Resolves an agent identity token (nsa_…) to a Principal; provided by the registry.
AgentTokenResolver = Callable[[str], Awaitable[Principal | None]]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class NewApiToken(BaseModel):
    token: str
    record: TokenRecord


class AuthService:
    def __init__(
        self,
        *,
        users: UserRepo,
        tokens: TokenRepo,
        cache: Cache,
        audit: AuditService,
        signer: JwtSigner,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        max_failures: int,
        lockout_seconds: float,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.cache = cache
        self.audit = audit
        self.signer = signer
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.agent_resolver: AgentTokenResolver | None = None
        # Set by bootstrap: tells gateways (every replica) to drop cached authentications.
        self.events: EventBus | None = None

    async def _revoked(self, user_id: str) -> None:
        if self.events is not None:
            await self.events.publish(Event("auth", "credentials.revoked", {"user_id": user_id}))

    # ----------------------------------------------------------------- login and sessions

    async def _check_lock(self, keys: list[str]) -> None:
        for key in keys:
            raw = await self.cache.get(f"lock:{key}")
            if raw is not None:
                until = float(raw)
                wait = until - utcnow().timestamp()
                if wait > 0:
                    raise RateLimited(
                        "too many failed logins; wait before trying again",
                        retry_after=wait,
                    )

    async def _register_failure(self, keys: list[str]) -> None:
        for key in keys:
            failures = await self.cache.incr(f"fail:{key}", ttl=3600)
            if failures >= self.max_failures:
                # Backoff doubles with every failure past the limit.
                delay = self.lockout_seconds * 2 ** (failures - self.max_failures)
                delay = min(delay, 3600.0)
                until = utcnow().timestamp() + delay
                await self.cache.set(f"lock:{key}", str(until).encode(), ttl=delay)

    async def login(self, username: str, password: str, *, source_ip: str | None) -> TokenPair:
        keys = [f"user:{username.lower()}", f"ip:{source_ip or 'unknown'}"]
        await self._check_lock(keys)
        user = await self.users.get_with_secret(username)
        ok = await verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            await self._register_failure(keys)
            await self.audit.record(
                "login.failure",
                actor_name=username,
                target_type="user",
                target_id=user.id if user else None,
                source_ip=source_ip,
                outcome="failure",
                details={"reason": "inactive" if user and ok else "bad credentials"},
            )
            raise Unauthenticated("wrong username or password")
        await self.cache.delete(f"fail:{keys[0]}")
        pair = await self.start_session(user)
        await self.audit.record(
            "login.success",
            actor=Principal(kind="user", id=user.id, name=user.username, role=user.role),
            target_type="user",
            target_id=user.id,
            source_ip=source_ip,
        )
        return pair

    async def start_session(self, user: User) -> TokenPair:
        refresh = new_opaque_token(REFRESH_TOKEN_PREFIX)
        record = TokenRecord(
            id=str(uuid.uuid4()),
            user_id=user.id,
            kind="refresh",
            prefix=refresh[:8],
            created_at=utcnow(),
            expires_at=utcnow() + self.refresh_ttl,
        )
        await self.tokens.add(record, hash_token(refresh))
        return TokenPair(
            access_token=self._access_token(user, record.id),
            refresh_token=refresh,
            expires_in=int(self.access_ttl.total_seconds()),
        )

    def _access_token(self, user: User, session_id: str) -> str:
        return self.signer.issue(
            subject=user.id,
            ttl=self.access_ttl,
            claims={"typ": "access", "sid": session_id, "name": user.username, "role": user.role},
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        record = await self.tokens.get_by_hash(hash_token(refresh_token))
        if record is None or record.kind != "refresh":
            raise Unauthenticated("the refresh token is not valid; log in again")
        if record.revoked_at is not None or _expired(record.expires_at):
            raise Unauthenticated("the session has ended; log in again", code="token_expired")
        user = await self.users.get(record.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("the account is not active")
        # Rotation: a refresh token works once, so a stolen copy is useless after the next use.
        if not await self.tokens.revoke(record.id):
            raise Unauthenticated("the refresh token was already used; log in again")
        return await self.start_session(user)

    async def logout(self, principal: Principal) -> None:
        if principal.token_id:
            await self.tokens.revoke(principal.token_id)
            await self._revoked(principal.id)
        await self.audit.record(
            "logout", actor=principal, target_type="user", target_id=principal.id
        )

    # ----------------------------------------------------------------- API tokens

    async def create_api_token(
        self, principal: Principal, *, name: str, expires_at: datetime | None
    ) -> NewApiToken:
        if principal.kind != "user":
            raise InvalidInput("only users can create API tokens")
        if not name.strip():
            raise InvalidInput("give the token a name", details=[{"field": "name"}])
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput("expiry must be in the future", details=[{"field": "expires_at"}])
        token = new_opaque_token(API_TOKEN_PREFIX)
        record = TokenRecord(
            id=str(uuid.uuid4()),
            user_id=principal.id,
            kind="api",
            name=name.strip(),
            prefix=token[:8],
            created_at=utcnow(),
            expires_at=expires_at,
        )
        await self.tokens.add(record, hash_token(token))
        await self.audit.record(
            "token.created",
            actor=principal,
            target_type="token",
            target_id=record.id,
            details={"name": record.name},
        )
        return NewApiToken(token=token, record=record)

    async def list_api_tokens(self, principal: Principal) -> list[TokenRecord]:
        return await self.tokens.list_for_user(principal.id, "api")  # type: ignore[no-any-return]

    async def revoke_api_token(self, principal: Principal, token_id: str) -> None:
        record = await self.tokens.get(token_id)
        if (
            record is None
            or record.kind != "api"
            or (record.user_id != principal.id and not principal.is_superuser)
        ):
            raise NotFound(f"no API token '{token_id}'")
        await self.tokens.revoke(record.id)
        await self._revoked(record.user_id)
        await self.audit.record(
            "token.revoked", actor=principal, target_type="token", target_id=record.id
        )

    # ----------------------------------------------------------------- authentication

    async def authenticate(self, credential: str) -> Principal:
        if credential.startswith(API_TOKEN_PREFIX):
            return await self._api_token(credential)
        if credential.startswith(AGENT_TOKEN_PREFIX):
            principal = await self.agent_resolver(credential) if self.agent_resolver else None
            if principal is None:
                raise Unauthenticated("the agent token is not valid")
            return principal
        claims = self.signer.verify(credential, typ="access")
        session = await self.tokens.get(claims["sid"])
        if session is None or session.revoked_at is not None:
            raise Unauthenticated("the session has ended; log in again", code="token_expired")
        user = await self.users.get(claims["sub"])
        if user is None or not user.is_active:
            raise Unauthenticated("the account is not active")
        return Principal(
            kind="user", id=user.id, name=user.username, role=user.role, token_id=session.id
        )

    async def _api_token(self, token: str) -> Principal:
        record = await self.tokens.get_by_hash(hash_token(token))
        if record is None or record.kind != "api" or record.revoked_at is not None:
            raise Unauthenticated("the API token is not valid or was revoked")
        if _expired(record.expires_at):
            raise Unauthenticated(
                "the API token has expired; create a new one", code="token_expired"
            )
        user = await self.users.get(record.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("the account is not active")
        # "Last used" to the minute: enough to spot stale tokens, without a write per request.
        if record.last_used_at is None or utcnow() - record.last_used_at > timedelta(minutes=1):
            await self.tokens.touch(record.id)
        return Principal(
            kind="user", id=user.id, name=user.username, role=user.role, token_id=record.id
        )


def _expired(when: datetime | None) -> bool:
    return when is not None and when <= utcnow()
