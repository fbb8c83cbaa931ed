from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.models import Credential, utcnow
from nasiko.storage.crypto import KeyRing
from nasiko.storage.sql.tables import credentials


class SqlCredentialRepo:
    """Every secret is encrypted before it reaches the database and decrypted on read."""

    def __init__(self, engine: AsyncEngine, keyring: KeyRing) -> None:
        self.engine = engine
        self.keyring = keyring

    def _where(self, user_id: str | None, kind: str, name: str) -> list[Any]:
        owner = (
            credentials.c.user_id.is_(None) if user_id is None else credentials.c.user_id == user_id
        )
        return [owner, credentials.c.kind == kind, credentials.c.name == name]

    def _load(self, row: Any) -> Credential:
        data = dict(row)
        data["secret"] = self.keyring.decrypt(data.pop("ciphertext"))
        return Credential.model_validate(data)

    async def put(
        self,
        *,
        user_id: str | None,
        kind: str,
        name: str = "default",
        secret: str,
        meta: dict[str, Any] | None = None,
    ) -> Credential:
        now = utcnow()
        ct = self.keyring.encrypt(secret)
        async with self.engine.begin() as conn:
            existing = (
                await conn.execute(
                    select(credentials.c.id).where(*self._where(user_id, kind, name))
                )
            ).scalar()
            if existing:
                await conn.execute(
                    update(credentials)
                    .where(credentials.c.id == existing)
                    .values(ciphertext=ct, meta=meta, updated_at=now)
                )
                cred_id = existing
            else:
                cred_id = str(uuid.uuid4())
                await conn.execute(
                    credentials.insert().values(
                        id=cred_id,
                        user_id=user_id,
                        kind=kind,
                        name=name,
                        ciphertext=ct,
                        meta=meta,
                        created_at=now,
                        updated_at=now,
                    )
                )
        got = await self.get(user_id=user_id, kind=kind, name=name)
        assert got is not None and got.id == cred_id
        return got

    async def get(
        self, *, user_id: str | None, kind: str, name: str = "default"
    ) -> Credential | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(credentials).where(*self._where(user_id, kind, name))))
                .mappings()
                .first()
            )
        return self._load(row) if row else None

    async def list(self, *, user_id: str | None, kind: str | None = None) -> list[Credential]:
        where: list[Any] = [
            credentials.c.user_id.is_(None) if user_id is None else credentials.c.user_id == user_id
        ]
        if kind:
            where.append(credentials.c.kind == kind)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(credentials).where(*where))).mappings().all()
        return [self._load(r) for r in rows]

    async def delete(self, *, user_id: str | None, kind: str, name: str = "default") -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(credentials).where(*self._where(user_id, kind, name)))
        return bool(res.rowcount)

    async def rotate(self) -> int:
        """Re-encrypt every secret not written with the newest key; returns how many."""
        count = 0
        async with self.engine.begin() as conn:
            rows = (await conn.execute(select(credentials.c.id, credentials.c.ciphertext))).all()
            for cred_id, ct in rows:
                if self.keyring.needs_rotation(ct):
                    fresh = self.keyring.encrypt(self.keyring.decrypt(ct))
                    await conn.execute(
                        update(credentials)
                        .where(credentials.c.id == cred_id)
                        .values(ciphertext=fresh)
                    )
                    count += 1
        return count
