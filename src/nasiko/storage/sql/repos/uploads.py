from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.deploy.models import TERMINAL, Upload
from nasiko.core.models import utcnow
from nasiko.storage.sql.tables_uploads import uploads

_COLS = [c for c in uploads.c if c.name not in ("lease_owner", "lease_until")]


class SqlUploadRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, upload: Upload) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(uploads).values(
                    **upload.model_dump(mode="json")
                    | {
                        "created_at": upload.created_at,
                        "updated_at": upload.updated_at,
                        "finished_at": upload.finished_at,
                    }
                )
            )

    async def get(self, upload_id: str) -> Upload | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(*_COLS).where(uploads.c.id == upload_id)))
                .mappings()
                .first()
            )
        return Upload.model_validate(dict(row)) if row else None

    async def save(self, upload: Upload) -> None:
        data = upload.model_dump(mode="json", exclude={"id", "created_at", "owner_id"})
        data["updated_at"] = utcnow()
        data["finished_at"] = upload.finished_at
        async with self.engine.begin() as conn:
            await conn.execute(update(uploads).where(uploads.c.id == upload.id).values(**data))

    async def list(
        self, *, owner_id: str | None, limit: int, offset: int, status: str | None = None
    ) -> tuple[list[Upload], int]:
        where: list[Any] = []
        if owner_id:
            where.append(uploads.c.owner_id == owner_id)
        if status:
            where.append(uploads.c.status == status)
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(uploads).where(*where))
            ).scalar_one()
            rows = (
                (
                    await conn.execute(
                        select(*_COLS)
                        .where(*where)
                        .order_by(uploads.c.created_at.desc())
                        .limit(limit)
                        .offset(offset)
                    )
                )
                .mappings()
                .all()
            )
        return [Upload.model_validate(dict(r)) for r in rows], int(total)

    async def acquire(self, upload_id: str, owner: str, *, lease: float) -> bool:
        """Take the upload's lease unless another live worker holds it."""
        now = utcnow()
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(uploads)
                .where(
                    uploads.c.id == upload_id,
                    uploads.c.status.not_in(TERMINAL),
                    or_(
                        uploads.c.lease_owner.is_(None),
                        uploads.c.lease_owner == owner,
                        uploads.c.lease_until < now,
                    ),
                )
                .values(
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease),
                    attempts=uploads.c.attempts + 1,
                )
            )
        return bool(res.rowcount)

    async def renew(self, upload_id: str, owner: str, *, lease: float) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(uploads)
                .where(
                    uploads.c.id == upload_id,
                    uploads.c.lease_owner == owner,
                )
                .values(lease_until=utcnow() + timedelta(seconds=lease))
            )
        return bool(res.rowcount)

    async def release(self, upload_id: str, owner: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(uploads)
                .where(
                    uploads.c.id == upload_id,
                    uploads.c.lease_owner == owner,
                )
                .values(lease_owner=None, lease_until=None)
            )

    async def unfinished(self, *, stale_before: datetime | None = None) -> builtins.list[Upload]:
        """Uploads not yet registered or failed whose lease is free or expired."""
        now = stale_before or utcnow()
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(*_COLS)
                        .where(
                            uploads.c.status.not_in(TERMINAL),
                            or_(uploads.c.lease_until.is_(None), uploads.c.lease_until < now),
                        )
                        .order_by(uploads.c.created_at)
                    )
                )
                .mappings()
                .all()
            )
        return [Upload.model_validate(dict(r)) for r in rows]

    async def lease_holder(self, upload_id: str) -> str | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(uploads.c.lease_owner).where(uploads.c.id == upload_id))
            ).scalar()
        return value  # type: ignore[no-any-return]
