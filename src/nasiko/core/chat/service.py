"""ChatService: sessions for the API and CLI; sending a message through the gateway to the
session's agent (or the router's pick), blocking or streamed."""

from __future__ import annotations

import base64
import builtins
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from nasiko.a2a.client import ReplyCollector, stream_text
from nasiko.core.chat.models import (
    ChatMessage,
    ChatSession,
    NewSession,
    SendMessage,
    SessionWithMessages,
)
from nasiko.core.models import Page, Principal, utcnow
from nasiko.core.ports import Cache
from nasiko.core.registry.models import Agent
from nasiko.core.registry.service import RegistryService
from nasiko.core.routing.service import RouterService
from nasiko.errors import InvalidInput, NasikoError, NotFound

RECENT = 50


class ChatService:
    def __init__(
        self,
        *,
        repo: Any,
        registry: RegistryService,
        router: RouterService | None,
        cache: Cache,
        timeout: float,
    ) -> None:
        self.repo = repo
        self.registry = registry
        self.router = router
        self.cache = cache
        self.timeout = timeout

    # ------------------------------------------------------------------ sessions

    async def create(self, principal: Principal, body: NewSession) -> ChatSession:
        if principal.kind != "user":
            raise InvalidInput("chat sessions belong to users")
        agent_id = slug = None
        if body.agent and body.agent != "auto":
            agent = await self.registry.get_visible(principal, body.agent)
            agent_id, slug = agent.id, agent.slug
        now = utcnow()
        session = ChatSession(
            id=str(uuid.uuid4()),
            user_id=principal.id,
            title=body.title or (f"Chat with {slug}" if slug else "New chat"),
            agent_id=agent_id,
            agent_slug=slug,
            context_id=uuid.uuid4().hex,
            created_at=now,
            updated_at=now,
        )
        return await self.repo.add_session(session)  # type: ignore[no-any-return]

    async def get(self, principal: Principal, session_id: str) -> ChatSession:
        session = await self.repo.get_session(session_id)
        if session is None or session.user_id != principal.id:
            raise NotFound(f"no chat session '{session_id}'")
        return session  # type: ignore[no-any-return]

    async def list(self, principal: Principal, *, limit: int, offset: int) -> Page[ChatSession]:
        items, total = await self.repo.list_sessions(principal.id, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def history(self, principal: Principal, session_id: str) -> SessionWithMessages:
        session = await self.get(principal, session_id)
        # Short conversations (most of them) come from the recent-history cache.
        messages = (
            await self.recent(session)
            if session.message_count <= RECENT
            else await self.repo.messages(session.id)
        )
        return SessionWithMessages(**session.model_dump(), messages=messages)

    async def recent(self, session: ChatSession) -> builtins.list[ChatMessage]:
        """The last messages, from the cache (Redis in server mode) when fresh.

        The key names the session's message count and last update, which the chat-log writer
        changes with every message: a cached copy is never read once it is out of date, and
        no writer has to find and drop it.
        """
        stamp = f"{session.message_count}:{session.updated_at.timestamp():.6f}"
        key = f"chat:recent:{session.id}:{stamp}"
        session_id = session.id
        cached = await self.cache.get(key)
        if cached is not None:
            return [ChatMessage.model_validate(m) for m in json.loads(cached)]
        messages = await self.repo.messages(session_id, limit=RECENT)
        await self.cache.set(
            key, json.dumps([m.model_dump(mode="json") for m in messages]).encode(), ttl=300
        )
        return messages  # type: ignore[no-any-return]

    async def rename(self, principal: Principal, session_id: str, title: str) -> ChatSession:
        session = await self.get(principal, session_id)
        await self.repo.update_session(session.id, title=title)
        return await self.get(principal, session_id)

    async def delete(self, principal: Principal, session_id: str) -> None:
        session = await self.get(principal, session_id)
        await self.repo.delete_session(session.id)

    # ------------------------------------------------------------------ sending

    async def _pick(
        self, principal: Principal, session: ChatSession, body: SendMessage
    ) -> tuple[Agent, dict[str, Any] | None]:
        wanted = body.agent or session.agent_slug or "auto"
        if wanted != "auto":
            return await self.registry.get_visible(principal, wanted), None
        if self.router is None:
            raise InvalidInput("automatic routing is not available here; choose an agent")
        if not body.text.strip():
            raise InvalidInput(
                "automatic routing needs text to route on; choose an agent for file-only messages"
            )
        result = await self.router.route(
            principal, body.text, top_k=3, sticky_agent_id=session.last_agent_id
        )
        best = result.best
        if best is None:
            raise NotFound(
                "no agent fits this request; rephrase it or pick an agent yourself",
                code="no_agent_fits",
                details={"candidates": [c.model_dump() for c in result.candidates]},
            )
        slug = self.router.slug_of(best.agent_id)
        if slug is None:
            raise NotFound("the chosen agent is gone; try again", code="no_agent_fits")
        agent = await self.registry.get_visible(principal, slug)
        return agent, {
            "agent": slug,
            "agent_id": best.agent_id,
            "score": best.score,
            "skill": best.skill_name or best.skill_id,
            "reason": result.reason,
            "candidates": [c.model_dump() for c in result.candidates],
        }

    async def send(
        self, principal: Principal, token: str, session_id: str, body: SendMessage
    ) -> AsyncIterator[dict[str, Any]]:
        """Events: routed?, delta*, state*, then done (or error)."""
        session = await self.get(principal, session_id)
        if not body.text.strip() and not body.files:
            raise InvalidInput("the message is empty", details=[{"field": "text"}])
        try:
            files = [
                (f.name, f.mime_type, base64.b64decode(f.data, validate=True)) for f in body.files
            ]
        except ValueError as exc:
            raise InvalidInput(
                "a file's data is not valid base64", details=[{"field": "files"}]
            ) from exc
        agent, routed = await self._pick(principal, session, body)
        slug = agent.slug
        if routed is not None:
            yield {"event": "routed", "data": routed}
        continue_task = session.task_id if session.state == "input-required" else None
        collector = ReplyCollector(context_id=session.context_id)
        streamed = False
        # A client per message: the caller's own credentials go to the gateway with it.
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=5.0),
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            # The card as the gateway publishes it, built here: no card fetch per message.
            async for event in stream_text(
                self.registry.public_card(agent),
                body.text,
                client=client,
                stream=body.stream,
                context_id=session.context_id,
                task_id=continue_task,
                metadata={"nasiko_session_id": session.id},
                timeout=self.timeout,
                files=files,
                message_id=uuid.uuid4().hex,
            ):
                collector.add(event)
                if event.state:
                    yield {
                        "event": "state",
                        "data": {"state": event.state, "task_id": collector.task_id},
                    }
                if event.text and event.kind in ("artifact", "message"):
                    streamed = True
                    yield {
                        "event": "delta",
                        "data": {"text": event.text, "append": bool(event.append)},
                    }
        except NasikoError as exc:
            yield {
                "event": "error",
                "data": {"code": exc.code, "message": exc.message, "partial": collector.text},
            }
            return
        finally:
            await client.aclose()
        if not streamed and collector.text:
            yield {"event": "delta", "data": {"text": collector.text, "append": False}}
        await self.repo.update_session(
            session.id, state=collector.state, task_id=collector.task_id, last_agent_id=agent.id
        )
        state, text = collector.state, collector.text
        task_id, context_id = collector.task_id, collector.context_id
        yield {
            "event": "done",
            "data": {
                "agent": slug,
                "text": text,
                "state": state,
                "task_id": task_id,
                "context_id": context_id,
                "session_id": session.id,
            },
        }
