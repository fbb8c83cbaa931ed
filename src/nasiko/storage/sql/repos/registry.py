"""Agents, versions, tags, grants and agent tokens; full-text search on SQLite FTS5 and
PostgreSQL tsvector with the same result shape."""

from __future__ import annotations

import builtins
import re
from typing import Any

from sqlalchemy import (
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nasiko.core.models import Principal, utcnow
from nasiko.core.registry.models import Agent, AgentVersion, Grant
from nasiko.errors import Conflict
from nasiko.storage.sql.tables_registry import (
    agent_tags,
    agent_tokens,
    agent_versions,
    agents,
    grants,
)

_AGENT_COLS = [c for c in agents.c if c.name not in ("search_text", "card_original", "deployment")]
_WORD = re.compile(r"\w+", re.UNICODE)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def search_fields(card: dict[str, Any], tags: list[str]) -> dict[str, str]:
    skills = card.get("skills") or []
    return {
        "name": str(card.get("name", "")),
        "description": str(card.get("description", "")),
        "skills": " ".join(
            f"{s.get('name', '')} {s.get('description', '')} {s.get('id', '')}" for s in skills
        ),
        "tags": " ".join([*tags, *(t for s in skills for t in s.get("tags") or [])]),
        "examples": " ".join(e for s in skills for e in s.get("examples") or []),
    }


def _terms(q: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(q)][:16]


class SqlRegistryRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"

    # ------------------------------------------------------------------ writes

    async def _index(
        self, conn: AsyncConnection, agent_id: str, card: dict[str, Any], tags: list[str]
    ) -> None:
        fields = search_fields(card, tags)
        search_text = " ".join(fields[k] for k in ("description", "skills", "tags", "examples"))
        await conn.execute(
            update(agents).where(agents.c.id == agent_id).values(search_text=search_text)
        )
        await conn.execute(delete(agent_tags).where(agent_tags.c.agent_id == agent_id))
        if tags:
            await conn.execute(insert(agent_tags), [{"agent_id": agent_id, "tag": t} for t in tags])
        if self.sqlite:
            await conn.execute(
                text("DELETE FROM agents_fts WHERE agent_id = :id"), {"id": agent_id}
            )
            await conn.execute(
                text(
                    "INSERT INTO agents_fts (agent_id, name, description, skills, tags, "
                    "examples) VALUES (:id, :name, :description, :skills, :tags, :examples)"
                ),
                {"id": agent_id, **fields},
            )

    async def add(
        self, agent: Agent, *, card_original: dict[str, Any] | None, version: AgentVersion
    ) -> Agent:
        row = agent.model_dump()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(agents).values(**row, card_original=card_original, search_text="")
                )
                await conn.execute(insert(agent_versions).values(**version.model_dump()))
                await self._index(conn, agent.id, agent.card, agent.tags)
        except IntegrityError as exc:
            raise Conflict(
                f"an agent with slug '{agent.slug}' already exists", details=[{"field": "slug"}]
            ) from exc
        return agent

    async def update(self, agent_id: str, **fields: Any) -> None:
        fields["updated_at"] = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(update(agents).where(agents.c.id == agent_id).values(**fields))
            if "card" in fields or "tags" in fields:
                row = (
                    await conn.execute(
                        select(agents.c.card, agents.c.tags).where(agents.c.id == agent_id)
                    )
                ).one()
                await self._index(conn, agent_id, row.card, row.tags)

    async def add_version(
        self, version: AgentVersion, *, make_current: bool, extra: dict[str, Any] | None = None
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(agent_versions).values(**version.model_dump()))
            if make_current:
                values = {
                    "current_version": version.version,
                    "card": version.card,
                    "card_original": version.card_original,
                    "updated_at": utcnow(),
                    **(extra or {}),
                }
                if version.source is not None:
                    values["source"] = version.source
                await conn.execute(
                    update(agents).where(agents.c.id == version.agent_id).values(**values)
                )
                tags = (
                    await conn.execute(select(agents.c.tags).where(agents.c.id == version.agent_id))
                ).scalar_one()
                await self._index(conn, version.agent_id, version.card, tags)

    async def soft_delete(self, agent_id: str) -> None:
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(agents)
                .where(agents.c.id == agent_id)
                .values(deleted_at=now, updated_at=now, status="stopped", endpoints=[])
            )
            await conn.execute(delete(agent_tags).where(agent_tags.c.agent_id == agent_id))
            await conn.execute(
                update(agent_tokens)
                .where(agent_tokens.c.agent_id == agent_id, agent_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if self.sqlite:
                await conn.execute(
                    text("DELETE FROM agents_fts WHERE agent_id = :id"), {"id": agent_id}
                )

    # ------------------------------------------------------------------ reads

    async def get(self, key: str, *, include_deleted: bool = False) -> Agent | None:
        """By id or slug. Two separate lookups, so each one uses its own index."""
        queries = []
        if _UUID.match(key):
            where = [agents.c.id == key]
            if not include_deleted:
                where.append(agents.c.deleted_at.is_(None))
            queries.append(select(*_AGENT_COLS).where(*where))
        # The live slug is found through the partial unique index; deleted ones only on request.
        queries.append(
            select(*_AGENT_COLS).where(agents.c.slug == key, agents.c.deleted_at.is_(None))
        )
        if include_deleted:
            queries.append(
                select(*_AGENT_COLS)
                .where(agents.c.slug == key)
                .order_by(agents.c.deleted_at.desc())
                .limit(1)
            )
        row = None
        async with self.engine.connect() as conn:
            for query in queries:
                row = (await conn.execute(query)).mappings().first()
                if row is not None:
                    break
        return Agent.model_validate(dict(row)) if row else None

    async def get_deployment(self, agent_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(agents.c.deployment).where(agents.c.id == agent_id))
            ).scalar()
        return value  # type: ignore[no-any-return]

    async def slug_taken(self, slug: str) -> bool:
        async with self.engine.connect() as conn:
            return bool(
                (
                    await conn.execute(
                        select(exists().where(agents.c.slug == slug, agents.c.deleted_at.is_(None)))
                    )
                ).scalar()
            )

    def _visible(self, principal: Principal) -> Any:
        """SQL for the access rules of core.registry.access (kept in step by the matrix test)."""
        if principal.is_superuser:
            return literal(True)
        # A set the database builds once per query, not a subquery run per shared agent.
        granted = agents.c.id.in_(
            select(grants.c.agent_id).where(
                grants.c.grantee_type == principal.kind,
                grants.c.grantee_id == principal.id,
                or_(grants.c.expires_at.is_(None), grants.c.expires_at > utcnow()),
            )
        )
        conds = [agents.c.visibility == "public", and_(agents.c.visibility == "shared", granted)]
        if principal.kind == "user":
            conds.append(agents.c.owner_id == principal.id)
        else:
            conds.append(agents.c.id == principal.id)
        return or_(*conds)

    async def list(
        self,
        principal: Principal,
        *,
        limit: int,
        offset: int,
        owner: str | None = None,
        visibility: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        q: str | None = None,
    ) -> tuple[list[tuple[Agent, float | None]], int]:
        where: list[Any] = [agents.c.deleted_at.is_(None), self._visible(principal)]
        if owner:
            where.append(agents.c.owner_id == owner)
        if visibility:
            where.append(agents.c.visibility == visibility)
        if status:
            where.append(agents.c.status == status)
        if tag:
            where.append(
                agents.c.id.in_(
                    select(agent_tags.c.agent_id).where(agent_tags.c.tag == tag.lower())
                )
            )
        score: Any = None
        terms = _terms(q) if q else []
        if q and not terms:
            return [], 0
        # Rank and page on ids only; full rows (with their cards) are read for one page.
        base = select(agents.c.id)
        if terms:
            if self.sqlite:
                fts = table("agents_fts", column("agent_id"))
                match = " OR ".join(f'"{t}"*' for t in terms)
                # bm25 is "smaller is better"; weights: name, description, skills, tags, examples.
                rank: Any = literal_column("bm25(agents_fts, 0, 10.0, 4.0, 3.0, 3.0, 1.0)")
                sub = (
                    select(fts.c.agent_id, rank.label("rank"))
                    .select_from(fts)
                    .where(text("agents_fts MATCH :match"))
                ).subquery("hits")
                base = select(agents.c.id, (-sub.c.rank).label("score")).join(
                    sub, sub.c.agent_id == agents.c.id
                )
                score = sub.c.rank
                params = {"match": match}
            else:
                tsq = func.to_tsquery("english", " | ".join(f"{t}:*" for t in terms))
                tsv = text("agents.search_tsv")
                rank = func.ts_rank_cd(tsv, tsq)
                base = select(agents.c.id, rank.label("score"))
                where.append(text("agents.search_tsv @@ to_tsquery('english', :tsq)"))
                params = {"tsq": " | ".join(f"{t}:*" for t in terms)}
                score = rank
        else:
            params = {}
        order = [score.asc() if (terms and self.sqlite) else score.desc()] if terms else []
        order += [agents.c.updated_at.desc(), agents.c.id]
        count_q = select(func.count()).select_from(base.where(*where).subquery())
        query = base.where(*where).order_by(*order).limit(limit).offset(offset)
        async with self.engine.connect() as conn:
            total = int((await conn.execute(count_q, params)).scalar_one())
            hits = (await conn.execute(query, params)).mappings().all()
            ids = [h["id"] for h in hits]
            full = (
                {
                    r["id"]: r
                    for r in (
                        await conn.execute(select(*_AGENT_COLS).where(agents.c.id.in_(ids)))
                    ).mappings()
                }
                if ids
                else {}
            )
        out = []
        for h in hits:
            s = h.get("score")
            out.append(
                (Agent.model_validate(dict(full[h["id"]])), float(s) if s is not None else None)
            )
        return out, total

    async def all_live(self) -> builtins.list[tuple[Agent, builtins.list[Grant]]]:
        async with self.engine.connect() as conn:
            rows = (
                (await conn.execute(select(*_AGENT_COLS).where(agents.c.deleted_at.is_(None))))
                .mappings()
                .all()
            )
            grant_rows = (await conn.execute(select(grants))).mappings().all()
        by_agent: dict[str, list[Grant]] = {}
        for g in grant_rows:
            by_agent.setdefault(g["agent_id"], []).append(Grant.model_validate(dict(g)))
        return [(Agent.model_validate(dict(r)), by_agent.get(r["id"], [])) for r in rows]

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(agents)
                        .where(agents.c.deleted_at.is_(None))
                    )
                ).scalar_one()
            )

    # ------------------------------------------------------------------ versions

    async def versions(self, agent_id: str) -> builtins.list[AgentVersion]:
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(agent_versions)
                        .where(agent_versions.c.agent_id == agent_id)
                        .order_by(agent_versions.c.version.desc())
                    )
                )
                .mappings()
                .all()
            )
        return [AgentVersion.model_validate(dict(r)) for r in rows]

    async def version(self, agent_id: str, version: int) -> AgentVersion | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(agent_versions).where(
                            agent_versions.c.agent_id == agent_id,
                            agent_versions.c.version == version,
                        )
                    )
                )
                .mappings()
                .first()
            )
        return AgentVersion.model_validate(dict(row)) if row else None

    async def next_version(self, agent_id: str) -> int:
        async with self.engine.connect() as conn:
            top = (
                await conn.execute(
                    select(func.max(agent_versions.c.version)).where(
                        agent_versions.c.agent_id == agent_id
                    )
                )
            ).scalar()
        return int(top or 0) + 1

    # ------------------------------------------------------------------ grants

    async def grants_for(self, agent_id: str) -> builtins.list[Grant]:
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(grants)
                        .where(grants.c.agent_id == agent_id)
                        .order_by(grants.c.created_at)
                    )
                )
                .mappings()
                .all()
            )
        return [Grant.model_validate(dict(r)) for r in rows]

    async def put_grant(self, grant: Grant) -> Grant:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(grants).where(
                    grants.c.agent_id == grant.agent_id,
                    grants.c.grantee_type == grant.grantee_type,
                    grants.c.grantee_id == grant.grantee_id,
                )
            )
            await conn.execute(insert(grants).values(**grant.model_dump()))
        return grant

    async def delete_grant(self, agent_id: str, grantee_type: str, grantee_id: str) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(
                delete(grants).where(
                    grants.c.agent_id == agent_id,
                    grants.c.grantee_type == grantee_type,
                    grants.c.grantee_id == grantee_id,
                )
            )
        return bool(res.rowcount)

    # ------------------------------------------------------------------ agent tokens

    async def add_agent_token(
        self,
        *,
        token_id: str,
        agent_id: str,
        token_hash: str,
        prefix: str,
        keep_previous: bool = False,
    ) -> None:
        now = utcnow()
        async with self.engine.begin() as conn:
            if not keep_previous:
                # One live identity per agent: issuing a new token retires the old one.
                await conn.execute(
                    update(agent_tokens)
                    .where(agent_tokens.c.agent_id == agent_id, agent_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            await conn.execute(
                insert(agent_tokens).values(
                    id=token_id,
                    agent_id=agent_id,
                    token_hash=token_hash,
                    prefix=prefix,
                    created_at=now,
                )
            )

    async def revoke_agent_tokens(
        self, agent_id: str, *, only_hash: str | None = None, except_hash: str | None = None
    ) -> None:
        where = [agent_tokens.c.agent_id == agent_id, agent_tokens.c.revoked_at.is_(None)]
        if only_hash is not None:
            where.append(agent_tokens.c.token_hash == only_hash)
        if except_hash is not None:
            where.append(agent_tokens.c.token_hash != except_hash)
        async with self.engine.begin() as conn:
            await conn.execute(update(agent_tokens).where(*where).values(revoked_at=utcnow()))

    async def agent_for_token(self, token_hash: str) -> Agent | None:
        async with self.engine.connect() as conn:
            agent_id = (
                await conn.execute(
                    select(agent_tokens.c.agent_id).where(
                        agent_tokens.c.token_hash == token_hash, agent_tokens.c.revoked_at.is_(None)
                    )
                )
            ).scalar()
        return await self.get(agent_id) if agent_id else None
