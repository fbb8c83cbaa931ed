from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from nasiko.core.models import Entity


class ChatSession(Entity):
    id: str
    user_id: str
    title: str
    agent_id: str | None = None
    agent_slug: str | None = None
    context_id: str
    last_agent_id: str | None = None
    state: str | None = None
    task_id: str | None = None
    message_count: int = 0
    created_at: datetime
    updated_at: datetime


class ChatMessage(Entity):
    id: int | None = None
    session_id: str
    role: Literal["user", "agent"]
    message_key: str
    parts: list[dict[str, Any]]
    text: str = ""
    agent_id: str | None = None
    agent_slug: str | None = None
    task_id: str | None = None
    state: str | None = None
    partial: bool = False
    latency_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    meta: dict[str, Any] | None = None
    created_at: datetime


class SessionWithMessages(ChatSession):
    messages: list[ChatMessage] = Field(default_factory=list)


class NewSession(BaseModel):
    title: str | None = Field(None, max_length=200)
    agent: str | None = Field(None, description="Agent slug, or 'auto' to route each message.")


class RenameSession(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class FileIn(BaseModel):
    name: str = Field(max_length=255)
    mime_type: str = "application/octet-stream"
    data: str = Field(description="Base64-encoded bytes.")


class SendMessage(BaseModel):
    text: str = Field("", max_length=100_000)
    files: list[FileIn] = Field(default_factory=list, max_length=10)
    agent: str | None = Field(None, description="Override the session's agent: slug or 'auto'.")
    stream: bool = False
