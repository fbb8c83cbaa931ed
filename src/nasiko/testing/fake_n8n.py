"""A fake n8n instance speaking n8n's public REST API and its trigger endpoints, for tests.

    GET  /api/v1/workflows            X-N8N-API-KEY; ?limit (default 100, capped at
                                      `max_limit`), ?cursor, ?active -> {"data", "nextCursor"}
    GET  /api/v1/workflows/{id}       the workflow, 404 {"message": "Not Found"}
    POST /webhook/{path}              a Webhook node's production URL (active workflows only)
    POST /webhook/{webhookId}/chat    a Chat Trigger: {"action": "sendMessage", "sessionId",
                                      "chatInput"}

Without the right key: 401 ``{"message": "unauthorized"}``. An unknown or inactive webhook:
404 ``{"code": 404, "message": "The requested webhook \\"POST x\\" is not registered.", …}``.
A failing workflow answers 500 ``{"code": 0, "message": "…"}``; in streaming mode it sends an
``{"type": "error"}`` chunk. Streaming answers are newline-delimited JSON chunks
(``begin``, ``item``…, ``end``) as n8n writes them.

What the workflows of `default_world` do with ``chatInput``:

    wf-support   chat trigger, streaming: "support: <text> (turn N)" in word chunks; N counts
                 the messages seen in that ``sessionId`` (n8n's chat memory)
    wf-lookup    webhook "order-lookup", last node: {"output": "order <text>: shipped"}
    wf-data      webhook "order-json": {"order": <text>, "status": "shipped"} (not text)
    wf-broken    webhook "broken": fails with "Node 'Parse order' hit an error: bad input"
    wf-stream-broken  chat trigger, streaming: one chunk, then an error chunk
    wf-slow      webhook "slow": answers after `slow_seconds`
    wf-cron      schedule trigger only, inactive (cannot be an agent)
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nasiko.testing.platform import free_port

WEBHOOK = "n8n-nodes-base.webhook"
CHAT = "@n8n/n8n-nodes-langchain.chatTrigger"
_T0 = "2025-05-01T10:00:00.000Z"


@dataclass
class FakeWorkflow:
    id: str
    name: str
    nodes: list[dict[str, Any]]
    active: bool = True
    behaviour: str = "echo"  # echo | json | fail | stream-fail | slow | none
    tags: list[str] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "isArchived": False,
            "createdAt": _T0,
            "updatedAt": _T0,
            "nodes": self.nodes,
            "connections": {},
            "settings": {"executionOrder": "v1"},
            "staticData": None,
            "meta": None,
            "pinData": {},
            "versionId": f"v-{self.id}",
            "triggerCount": 1 if self.active else 0,
            "tags": [
                {"id": f"t{i}", "name": t, "createdAt": _T0, "updatedAt": _T0}
                for i, t in enumerate(self.tags)
            ],
        }


def _node(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"node-{name.lower().replace(' ', '-')}",
        "name": name,
        "type": type_,
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": extra.pop("parameters", {}),
        **extra,
    }


def webhook_node(path: str, *, mode: str = "lastNode", method: str = "POST") -> dict[str, Any]:
    return _node(
        "Webhook",
        WEBHOOK,
        webhookId=f"hook-{path}",
        parameters={"httpMethod": method, "path": path, "responseMode": mode, "options": {}},
    )


def chat_node(webhook_id: str, *, streaming: bool = True) -> dict[str, Any]:
    options = {"responseMode": "streaming"} if streaming else {}
    return _node(
        "When chat message received",
        CHAT,
        webhookId=webhook_id,
        parameters={"public": True, "mode": "webhook", "options": options},
    )


def sticky(text: str) -> dict[str, Any]:
    return _node("Sticky Note", "n8n-nodes-base.stickyNote", parameters={"content": text})


def default_world() -> dict[str, FakeWorkflow]:
    flows = [
        FakeWorkflow(
            "wf-support",
            "Support Bot",
            [
                chat_node("5f1c2a9e-support"),
                _node("AI Agent", "@n8n/n8n-nodes-langchain.agent"),
                sticky("Answers customer support questions about orders and returns."),
            ],
            tags=["support"],
        ),
        FakeWorkflow(
            "wf-lookup",
            "Order Lookup",
            [webhook_node("order-lookup"), _node("Respond", "n8n-nodes-base.set")],
        ),
        FakeWorkflow("wf-data", "Order JSON", [webhook_node("order-json")], behaviour="json"),
        FakeWorkflow("wf-broken", "Broken Flow", [webhook_node("broken")], behaviour="fail"),
        FakeWorkflow(
            "wf-stream-broken",
            "Flaky Stream",
            [chat_node("9e2b-flaky")],
            behaviour="stream-fail",
        ),
        FakeWorkflow("wf-slow", "Slow Flow", [webhook_node("slow")], behaviour="slow"),
        FakeWorkflow(
            "wf-cron",
            "Nightly Report",
            [_node("Schedule Trigger", "n8n-nodes-base.scheduleTrigger")],
            active=False,
            behaviour="none",
        ),
    ]
    return {f.id: f for f in flows}


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(cursor: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"])


class FakeN8n:
    def __init__(self, *, api_key: str = "n8n_api_fake_key_for_tests") -> None:
        self.api_key = api_key
        self.workflows = default_world()
        self.max_limit = 250
        self.slow_seconds = 5.0
        self.sessions: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str, Any]] = []  # (method, path, json body)
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ behaviour

    def _turn(self, session: str, text: str) -> int:
        seen = self.sessions.setdefault(session, [])
        seen.append(text)
        return len(seen)

    def _find(self, kind: str, key: str) -> FakeWorkflow | None:
        for wf in self.workflows.values():
            for node in wf.nodes:
                if kind == "chat" and node["type"] == CHAT and node.get("webhookId") == key:
                    return wf if wf.active else None
                if (
                    kind == "webhook"
                    and node["type"] == WEBHOOK
                    and node["parameters"].get("path") == key
                ):
                    return wf if wf.active else None
        return None

    async def _answer(self, wf: FakeWorkflow, body: dict[str, Any], streaming: bool) -> Response:
        text = str(body.get("chatInput") or "")
        session = str(body.get("sessionId") or "")
        if wf.behaviour == "slow":
            await asyncio.sleep(self.slow_seconds)
        if wf.behaviour == "fail":
            return JSONResponse(
                {"code": 0, "message": "Node 'Parse order' hit an error: bad input"},
                status_code=500,
            )
        if wf.behaviour == "json":
            return JSONResponse({"order": text, "status": "shipped"})
        if wf.id == "wf-lookup":
            return JSONResponse({"output": f"order {text}: shipped"})
        turn = self._turn(session, text)
        reply = f"support: {text} (turn {turn})"
        if not streaming:
            return JSONResponse({"output": reply})

        async def chunks() -> AsyncIterator[bytes]:
            meta = {"nodeId": "node-ai-agent", "nodeName": "AI Agent", "runIndex": 0}
            yield _line({"type": "begin", "metadata": {**meta, "timestamp": _now()}})
            words = reply.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                yield _line({"type": "item", "content": piece, "metadata": meta})
                await asyncio.sleep(0)
                if wf.behaviour == "stream-fail":
                    yield _line(
                        {
                            "type": "error",
                            "content": "Model provider returned 429: quota exceeded",
                            "metadata": meta,
                        }
                    )
                    return
            yield _line({"type": "end", "metadata": {**meta, "timestamp": _now()}})

        return StreamingResponse(chunks(), media_type="application/json; charset=utf-8")

    # ------------------------------------------------------------------ app

    def app(self) -> Starlette:
        def authorized(request: Request) -> bool:
            return request.headers.get("x-n8n-api-key") == self.api_key

        def unauthorized() -> Response:
            return JSONResponse({"message": "unauthorized"}, status_code=401)

        async def list_workflows(request: Request) -> Response:
            self.calls.append(("GET", request.url.path, dict(request.query_params)))
            if not authorized(request):
                return unauthorized()
            q = request.query_params
            limit = min(int(q.get("limit", 100)), self.max_limit)
            items = sorted(self.workflows.values(), key=lambda w: w.id)
            if "active" in q:
                items = [w for w in items if w.active == (q["active"] == "true")]
            start = _offset(q["cursor"]) if q.get("cursor") else 0
            page = items[start : start + limit]
            nxt = _cursor(start + limit) if start + limit < len(items) else None
            return JSONResponse({"data": [w.payload() for w in page], "nextCursor": nxt})

        async def get_workflow(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            wf = self.workflows.get(request.path_params["id"])
            if wf is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(wf.payload())

        def not_registered(path: str) -> Response:
            return JSONResponse(
                {
                    "code": 404,
                    "message": f'The requested webhook "POST {path}" is not registered.',
                    "hint": "The workflow must be active for a production URL to run successfully.",
                },
                status_code=404,
            )

        async def webhook(request: Request) -> Response:
            path = request.path_params["path"]
            body = await _json(request)
            self.calls.append(("POST", request.url.path, body))
            wf = self._find("webhook", path)
            if wf is None:
                return not_registered(path)
            node = next(n for n in wf.nodes if n["type"] == WEBHOOK)
            return await self._answer(wf, body, node["parameters"]["responseMode"] == "streaming")

        async def chat(request: Request) -> Response:
            wid = request.path_params["wid"]
            body = await _json(request)
            self.calls.append(("POST", request.url.path, body))
            wf = self._find("chat", wid)
            if wf is None:
                return not_registered(f"{wid}/chat")
            if body.get("action") != "sendMessage":
                return JSONResponse({"message": "unsupported action"}, status_code=400)
            node = next(n for n in wf.nodes if n["type"] == CHAT)
            streaming = node["parameters"]["options"].get("responseMode") == "streaming"
            return await self._answer(wf, body, streaming)

        return Starlette(
            routes=[
                Route("/api/v1/workflows", list_workflows),
                Route("/api/v1/workflows/{id}", get_workflow),
                Route("/webhook/{wid}/chat", chat, methods=["POST"]),
                Route("/webhook/{path:path}", webhook, methods=["POST"]),
            ]
        )

    def __enter__(self) -> FakeN8n:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="fake-n8n")
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)


def _line(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc) + "\n").encode()


def _now() -> int:
    return int(time.time() * 1000)


async def _json(request: Request) -> dict[str, Any]:
    try:
        doc = await request.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
