from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.models import TokenRecord, utcnow
from nasiko.storage.sql.tables import tokens

_COLS = [c for c in tokens.c if c.name != "token_hash"]


class SqlTokenRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, record: TokenRecord, token_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(tokens.insert().values(**record.model_dump(), token_hash=token_hash))

    async def get_by_hash(self, token_hash: str) -> TokenRecord | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(*_COLS).where(tokens.c.token_hash == token_hash)))
                .mappings()
                .first()
            )
        return TokenRecord.model_validate(dict(row)) if row else None

    async def get(self, token_id: str) -> TokenRecord | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(*_COLS).where(tokens.c.id == token_id)))
                .mappings()
                .first()
            )
        return TokenRecord.model_validate(dict(row)) if row else None

    async def list_for_user(self, user_id: str, kind: str) -> list[TokenRecord]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(*_COLS)
                    .where(tokens.c.user_id == user_id, tokens.c.kind == kind)
                    .order_by(tokens.c.created_at.desc())
                )
            ).mappings()
            return [TokenRecord.model_validate(dict(r)) for r in rows]

    async def revoke(self, token_id: str) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return bool(res.rowcount)

    async def revoke_all(self, user_id: str, kind: str | None = None) -> int:
        where = [tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None)]
        if kind:
            where.append(tokens.c.kind == kind)
        async with self.engine.begin() as conn:
            res = await conn.execute(update(tokens).where(*where).values(revoked_at=utcnow()))
        return int(res.rowcount)

    async def touch(self, token_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(tokens).where(tokens.c.id == token_id).values(last_used_at=utcnow())
            )
