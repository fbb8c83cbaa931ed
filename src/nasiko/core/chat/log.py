"""The gateway's chat log, stored as sessions: every user message and agent reply that passes
through the gateway lands here, whether it came from the chat API or straight from an A2A
client, so both kinds of conversation read alike. Entries with the same message key are kept
once, so a retried batch cannot duplicate a conversation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nasiko.core.chat.models import ChatMessage, ChatSession
from nasiko.core.models import utcnow
from nasiko.core.ports import ChatLogEntry

TITLE_CHARS = 60


def parts_text(parts: list[dict[str, Any]]) -> str:
    out = []
    for part in parts:
        if isinstance(part.get("text"), str):
            out.append(part["text"])
        elif part.get("filename") or part.get("file"):
            name = part.get("filename") or (part.get("file") or {}).get("name") or "file"
            out.append(f"[file: {name}]")
    return "\n".join(out)


def message_key(entry: ChatLogEntry) -> str:
    if entry.message_id:
        return entry.message_id[:160]
    # Replies without their own id are keyed by the task and time they completed.
    return f"{entry.task_id or 'none'}@{entry.at:.6f}"[:160]


class ChatLogStore:
    """Implements the gateway's ChatLogSink on the chat repository."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo

    async def write_batch(self, entries: list[ChatLogEntry]) -> None:
        sessions: dict[tuple[str, str], ChatSession] = {}
        messages: list[ChatMessage] = []
        for entry in entries:
            if not entry.user_id or not entry.context_id:
                continue  # agent-to-agent calls and context-less pings are not conversations
            key = (entry.user_id, entry.context_id)
            session = sessions.get(key)
            if session is None:
                now = utcnow()
                session = await self.repo.ensure_session(
                    ChatSession(
                        id=str(uuid.uuid4()),
                        user_id=entry.user_id,
                        title=(parts_text(entry.parts) or entry.agent_slug)[:TITLE_CHARS],
                        agent_id=entry.agent_id,
                        agent_slug=entry.agent_slug,
                        context_id=entry.context_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
                sessions[key] = session
            messages.append(
                ChatMessage(
                    session_id=session.id,
                    role="agent" if entry.role == "agent" else "user",
                    message_key=message_key(entry),
                    parts=entry.parts,
                    text=parts_text(entry.parts),
                    agent_id=entry.agent_id,
                    agent_slug=entry.agent_slug,
                    task_id=entry.task_id,
                    state=entry.state,
                    partial=entry.partial,
                    latency_ms=entry.latency_ms,
                    tokens_in=_int(entry.metadata.get("tokens_in")),
                    tokens_out=_int(entry.metadata.get("tokens_out")),
                    meta=entry.metadata or None,
                    created_at=datetime.fromtimestamp(entry.at, UTC),
                )
            )
        if not messages:
            return
        await self.repo.add_messages(messages)
        for session in sessions.values():
            last = next(
                (m for m in reversed(messages) if m.session_id == session.id and m.role == "agent"),
                None,
            )
            if last is not None:
                await self.repo.update_session(
                    session.id, last_agent_id=last.agent_id, state=last.state, task_id=last.task_id
                )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
