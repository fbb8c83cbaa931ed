from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.chat.models import ChatMessage, ChatSession
from nasiko.core.models import utcnow
from nasiko.storage.sql.tables_chat import chat_messages, chat_sessions


class SqlChatRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_session(self, session: ChatSession) -> ChatSession:
        async with self.engine.begin() as conn:
            await conn.execute(insert(chat_sessions).values(**session.model_dump()))
        return session

    async def get_session(self, session_id: str) -> ChatSession | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(chat_sessions).where(chat_sessions.c.id == session_id)))
                .mappings()
                .first()
            )
        return ChatSession.model_validate(dict(row)) if row else None

    async def session_by_context(self, user_id: str, context_id: str) -> ChatSession | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(chat_sessions).where(
                            chat_sessions.c.user_id == user_id,
                            chat_sessions.c.context_id == context_id,
                        )
                    )
                )
                .mappings()
                .first()
            )
        return ChatSession.model_validate(dict(row)) if row else None

    async def ensure_session(self, session: ChatSession) -> ChatSession:
        """The user's session for this context id, creating it if it is new."""
        existing = await self.session_by_context(session.user_id, session.context_id)
        if existing is not None:
            return existing
        try:
            return await self.add_session(session)
        except IntegrityError:  # created concurrently by another writer
            found = await self.session_by_context(session.user_id, session.context_id)
            assert found is not None
            return found

    async def list_sessions(
        self, user_id: str, *, limit: int, offset: int
    ) -> tuple[list[ChatSession], int]:
        where = [chat_sessions.c.user_id == user_id]
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(chat_sessions).where(*where))
            ).scalar_one()
            rows = (
                (
                    await conn.execute(
                        select(chat_sessions)
                        .where(*where)
                        .order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.id)
                        .limit(limit)
                        .offset(offset)
                    )
                )
                .mappings()
                .all()
            )
        return [ChatSession.model_validate(dict(r)) for r in rows], int(total)

    async def update_session(self, session_id: str, **fields: Any) -> None:
        fields.setdefault("updated_at", utcnow())
        async with self.engine.begin() as conn:
            await conn.execute(
                update(chat_sessions).where(chat_sessions.c.id == session_id).values(**fields)
            )

    async def delete_session(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(chat_messages).where(chat_messages.c.session_id == session_id)
            )
            await conn.execute(delete(chat_sessions).where(chat_sessions.c.id == session_id))

    async def add_messages(self, messages: list[ChatMessage]) -> int:
        """Inserts messages not stored yet (by session, role and key); returns how many."""
        added = 0
        async with self.engine.begin() as conn:
            for msg in messages:
                exists = (
                    await conn.execute(
                        select(chat_messages.c.id, chat_messages.c.partial).where(
                            chat_messages.c.session_id == msg.session_id,
                            chat_messages.c.role == msg.role,
                            chat_messages.c.message_key == msg.message_key,
                        )
                    )
                ).first()
                data = msg.model_dump(exclude={"id"})
                if exists is None:
                    await conn.execute(insert(chat_messages).values(**data))
                    added += 1
                elif exists.partial and not msg.partial:
                    # A complete copy replaces a partial one (a retried stream).
                    await conn.execute(
                        update(chat_messages).where(chat_messages.c.id == exists.id).values(**data)
                    )
            if added:
                for session_id in {m.session_id for m in messages}:
                    count = (
                        await conn.execute(
                            select(func.count())
                            .select_from(chat_messages)
                            .where(chat_messages.c.session_id == session_id)
                        )
                    ).scalar_one()
                    await conn.execute(
                        update(chat_sessions)
                        .where(chat_sessions.c.id == session_id)
                        .values(message_count=count, updated_at=utcnow())
                    )
        return added

    async def messages(
        self, session_id: str, *, limit: int = 1000, before_id: int | None = None
    ) -> list[ChatMessage]:
        where = [chat_messages.c.session_id == session_id]
        if before_id is not None:
            where.append(chat_messages.c.id < before_id)
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(chat_messages)
                        .where(*where)
                        .order_by(chat_messages.c.id.desc())
                        .limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        return [ChatMessage.model_validate(dict(r)) for r in reversed(rows)]
