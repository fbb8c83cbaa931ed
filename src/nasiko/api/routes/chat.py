from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from nasiko.api.deps import CurrentPrincipal, ServicesDep, bearer_token
from nasiko.core.chat.models import (
    ChatSession,
    NewSession,
    RenameSession,
    SendMessage,
    SessionWithMessages,
)
from nasiko.core.chat.service import ChatService
from nasiko.core.models import Page
from nasiko.errors import Unavailable, error_for

router = APIRouter(prefix="/chat/sessions", tags=["chat"])


class Reply(BaseModel):
    session_id: str
    agent: str
    text: str
    state: str
    task_id: str | None = None
    context_id: str | None = None
    routed: dict[str, Any] | None = None


def _chat(svc: ServicesDep) -> ChatService:
    chat: ChatService = svc.extensions["chat"]
    return chat


@router.post("", response_model=ChatSession, status_code=201)
async def create(body: NewSession, principal: CurrentPrincipal, svc: ServicesDep) -> ChatSession:
    return await _chat(svc).create(principal, body)


@router.get("", response_model=Page[ChatSession])
async def list_sessions(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> Page[ChatSession]:
    return await _chat(svc).list(principal, limit=limit, offset=offset)


@router.get("/{session_id}", response_model=SessionWithMessages)
async def get_session(
    session_id: str, principal: CurrentPrincipal, svc: ServicesDep
) -> SessionWithMessages:
    return await _chat(svc).history(principal, session_id)


@router.patch("/{session_id}", response_model=ChatSession)
async def rename(
    session_id: str, body: RenameSession, principal: CurrentPrincipal, svc: ServicesDep
) -> ChatSession:
    return await _chat(svc).rename(principal, session_id, body.title)


@router.delete("/{session_id}", status_code=204)
async def delete(session_id: str, principal: CurrentPrincipal, svc: ServicesDep) -> Response:
    await _chat(svc).delete(principal, session_id)
    return Response(status_code=204)


@router.post("/{session_id}/messages", response_model=Reply)
async def send(
    session_id: str,
    body: SendMessage,
    request: Request,
    principal: CurrentPrincipal,
    svc: ServicesDep,
) -> Any:
    """Sends through the gateway. With `stream: true` the answer is Server-Sent Events:
    `routed` (when the router chose), `delta` (text as it arrives), `state`, then `done`
    or `error`."""
    chat = _chat(svc)
    token = bearer_token(request) or ""
    events = chat.send(principal, token, session_id, body)
    # Errors before the first event (unknown session, no agent fits…) are ordinary errors.
    first = await anext(events)
    if body.stream:

        async def stream() -> AsyncIterator[dict[str, str]]:
            yield {"event": first["event"], "data": json.dumps(first["data"])}
            async for event in events:
                yield {"event": event["event"], "data": json.dumps(event["data"])}

        return EventSourceResponse(stream(), ping=15)
    routed = None
    event: dict[str, Any] | None = first
    while event is not None:
        if event["event"] == "routed":
            routed = event["data"]
        elif event["event"] == "error":
            err = event["data"]
            raise error_for(err["code"], err["message"])
        elif event["event"] == "done":
            return Reply(
                **{k: v for k, v in event["data"].items() if k in Reply.model_fields}, routed=routed
            )
        event = await anext(events, None)
    raise Unavailable("the agent ended the conversation without a reply")
