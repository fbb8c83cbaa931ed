"""Password hashing (argon2id), opaque token generation and hashing, JWT signing."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from nasiko.core.models import utcnow
from nasiko.errors import Unauthenticated

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the username is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

API_TOKEN_PREFIX = "nsk_"
AGENT_TOKEN_PREFIX = "nsa_"
REFRESH_TOKEN_PREFIX = "nsr_"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def new_opaque_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (a slow KDF buys nothing here).
    return hashlib.sha256(token.encode()).hexdigest()


class JwtSigner:
    def __init__(self, keys: list[bytes], *, issuer: str = "nasiko") -> None:
        self._keys = keys
        self._issuer = issuer

    def issue(self, *, subject: str, ttl: timedelta, claims: dict[str, Any]) -> str:
        now = utcnow()
        payload = {
            "iss": self._issuer,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, self._keys[0], algorithm="HS256")

    def verify(self, token: str, *, typ: str) -> dict[str, Any]:
        last: Exception | None = None
        for key in self._keys:  # newest first; older keys still verify after a rotation
            try:
                data: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=["HS256"],
                    issuer=self._issuer,
                    options={"require": ["exp", "sub", "iat"]},
                )
            except jwt.ExpiredSignatureError as exc:
                raise Unauthenticated(
                    "your session has expired; log in again (nasiko login)", code="token_expired"
                ) from exc
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.InvalidTokenError as exc:
                raise Unauthenticated("the token is not valid") from exc
            if data.get("typ") != typ:
                raise Unauthenticated("the token is not valid for this use")
            return data
        raise Unauthenticated("the token is not valid") from last


def expires_in(ttl: timedelta) -> datetime:
    return utcnow() + ttl
