from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.models import User, UserWithSecret, utcnow
from nasiko.errors import Conflict
from nasiko.storage.sql.tables import users

_PUBLIC = [c for c in users.c if c.name != "password_hash"]


class SqlUserRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, user: User, password_hash: str | None) -> User:
        row = user.model_dump() | {"password_hash": password_hash}
        try:
            async with self.engine.begin() as conn:
                await conn.execute(users.insert().values(**row))
        except IntegrityError as exc:
            raise Conflict(
                f"username '{user.username}' is taken", details={"field": "username"}
            ) from exc
        return user

    async def _one(self, *where: Any, secret: bool = False) -> Any:
        cols = list(users.c) if secret else _PUBLIC
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*cols).where(*where))).mappings().first()
        if row is None:
            return None
        return (UserWithSecret if secret else User).model_validate(dict(row))

    async def get(self, user_id: str) -> User | None:
        return await self._one(users.c.id == user_id)  # type: ignore[no-any-return]

    async def get_by_username(self, username: str) -> User | None:
        return await self._one(users.c.username == username)  # type: ignore[no-any-return]

    async def get_by_github_id(self, github_id: str) -> User | None:
        return await self._one(users.c.github_id == github_id)  # type: ignore[no-any-return]

    async def get_with_secret(self, username: str) -> UserWithSecret | None:
        return await self._one(users.c.username == username, secret=True)  # type: ignore[no-any-return]

    async def get_secret_by_id(self, user_id: str) -> UserWithSecret | None:
        return await self._one(users.c.id == user_id, secret=True)  # type: ignore[no-any-return]

    async def list(
        self, *, limit: int, offset: int, q: str | None = None
    ) -> tuple[list[User], int]:
        where = []
        if q:
            like = f"%{q.lower()}%"
            where.append(
                or_(func.lower(users.c.username).like(like), func.lower(users.c.email).like(like))
            )
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(users).where(*where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(*_PUBLIC)
                    .where(*where)
                    .order_by(users.c.username)
                    .limit(limit)
                    .offset(offset)
                )
            ).mappings()
            return [User.model_validate(dict(r)) for r in rows], int(total)

    async def update(self, user_id: str, **fields: Any) -> User | None:
        fields["updated_at"] = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(**fields))
        return await self.get(user_id)

    async def delete(self, user_id: str) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(users).where(users.c.id == user_id))
        return bool(res.rowcount)

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())
