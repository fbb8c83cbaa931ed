"""n8n over its real HTTP surfaces: the public REST API and workflow triggers.

* Public API: ``GET {base}/api/v1/workflows`` (``X-N8N-API-KEY``; cursor pagination through
  ``nextCursor``), ``GET {base}/api/v1/workflows/{id}``.
* Triggers: a Webhook node answers at ``POST {base}/webhook/{path}``; a Chat Trigger at
  ``POST {base}/webhook/{webhookId}/chat`` with ``{"action": "sendMessage", "sessionId",
  "chatInput"}``. With response mode *streaming* n8n answers newline-delimited JSON chunks
  (``{"type": "begin"|"item"|"end"|"error", "content", "metadata"}``); otherwise one body,
  usually ``{"output": …}`` from the last node.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from nasiko.errors import InvalidInput, NotFound, Unavailable, UpstreamTimeout

WEBHOOK_NODE = "n8n-nodes-base.webhook"
CHAT_NODE = "@n8n/n8n-nodes-langchain.chatTrigger"
STICKY_NODE = "n8n-nodes-base.stickyNote"
_CHUNK_TYPES = {"begin", "item", "end", "error"}


class WorkflowFailed(Unavailable):
    """The workflow ran and failed (or n8n refused to run it); the message says why."""

    code = "n8n_workflow_failed"


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: Literal["webhook", "chat"]
    node: str
    path: str  # webhook path, or the chat trigger's webhookId
    method: str = "POST"
    streaming: bool = False

    def url(self, base_url: str) -> str:
        base = base_url.rstrip("/")
        if self.kind == "chat":
            return f"{base}/webhook/{self.path}/chat"
        return f"{base}/webhook/{self.path.strip('/')}"


@dataclass(frozen=True, slots=True)
class Output:
    """One piece of a workflow's answer: text, or structured data (JSON) when not text."""

    text: str | None = None
    data: Any = None


def find_trigger(workflow: dict[str, Any]) -> Trigger | None:
    """The chat trigger if the workflow has an enabled one, else its first POST webhook."""
    nodes = [n for n in workflow.get("nodes") or [] if not n.get("disabled")]
    for node in nodes:
        if node.get("type") == CHAT_NODE and node.get("webhookId"):
            options = (node.get("parameters") or {}).get("options") or {}
            return Trigger(
                kind="chat",
                node=str(node.get("name")),
                path=str(node["webhookId"]),
                streaming=options.get("responseMode") == "streaming",
            )
    for node in nodes:
        if node.get("type") != WEBHOOK_NODE:
            continue
        params = node.get("parameters") or {}
        method = str(params.get("httpMethod") or "GET").upper()
        path = params.get("path") or node.get("webhookId")
        if method == "POST" and path:
            return Trigger(
                kind="webhook",
                node=str(node.get("name")),
                path=str(path),
                method=method,
                streaming=params.get("responseMode") == "streaming",
            )
    return None


def trigger_kinds(workflow: dict[str, Any]) -> list[str]:
    kinds = []
    for node in workflow.get("nodes") or []:
        if node.get("disabled"):
            continue
        if node.get("type") == WEBHOOK_NODE and "webhook" not in kinds:
            kinds.append("webhook")
        elif node.get("type") == CHAT_NODE and "chat" not in kinds:
            kinds.append("chat")
    return kinds


def workflow_notes(workflow: dict[str, Any]) -> str:
    """What the workflow says about itself: its description, else its sticky notes, else the
    notes on its trigger node."""
    if isinstance(workflow.get("description"), str) and workflow["description"].strip():
        return str(workflow["description"]).strip()
    nodes = workflow.get("nodes") or []
    stickies = [
        str((n.get("parameters") or {}).get("content") or "").strip()
        for n in nodes
        if n.get("type") == STICKY_NODE
    ]
    text = "\n\n".join(s for s in stickies if s)
    if text:
        return text
    for node in nodes:
        if node.get("type") in (WEBHOOK_NODE, CHAT_NODE) and node.get("notes"):
            return str(node["notes"]).strip()
    return ""


def parse_output(body: bytes, content_type: str) -> list[Output]:
    """A non-streamed answer: ``{"output": …}`` (also inside a one-item list), other JSON as
    data, anything else as text."""
    if not body.strip():
        return []
    if "json" in content_type or body.lstrip()[:1] in (b"{", b"["):
        try:
            doc = json.loads(body)
        except ValueError:
            return [Output(text=body.decode(errors="replace"))]
        if isinstance(doc, list) and len(doc) == 1:
            doc = doc[0]
        if isinstance(doc, dict) and "output" in doc:
            out = doc["output"]
            return [Output(text=out) if isinstance(out, str) else Output(data=out)]
        if isinstance(doc, str):
            return [Output(text=doc)]
        return [Output(data=doc)]
    return [Output(text=body.decode(errors="replace"))]


def _error_reason(resp: httpx.Response, body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        parts = [str(doc[k]) for k in ("message", "hint") if doc.get(k)]
        if parts:
            return " ".join(parts)
    text = body.decode(errors="replace").strip()[:300]
    return text or f"HTTP {resp.status_code}"


class N8nClient:
    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0))
        self._own = http is None

    async def close(self) -> None:
        if self._own:
            await self._http.aclose()

    # ------------------------------------------------------------------ public REST API

    async def _api(
        self, base_url: str, api_key: str, path: str, params: dict[str, Any] | None = None
    ) -> Any:
        url = f"{base_url.rstrip('/')}/api/v1{path}"
        try:
            resp = await self._http.get(
                url, params=params, headers={"X-N8N-API-KEY": api_key, "Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"n8n did not answer at {base_url}: {type(exc).__name__}",
                details={"url": base_url},
            ) from exc
        if resp.status_code == 401:
            raise InvalidInput(
                "n8n rejected the API key (401); create one under Settings > n8n API",
                code="n8n_key_rejected",
                details=[{"field": "api_key"}],
            )
        if resp.status_code == 404:
            raise NotFound(f"n8n has no {path}", details={"url": base_url})
        if resp.status_code != 200:
            raise Unavailable(
                f"n8n answered HTTP {resp.status_code} for {path}", details={"url": base_url}
            )
        try:
            return resp.json()
        except ValueError as exc:
            raise Unavailable(
                f"{base_url} did not answer like n8n's public API (no JSON at /api/v1{path})",
                details={"url": base_url},
            ) from exc

    async def workflows(
        self, base_url: str, api_key: str, *, page_size: int = 100, max_pages: int = 50
    ) -> list[dict[str, Any]]:
        """Every workflow, following ``nextCursor``."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(max_pages):
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = await self._api(base_url, api_key, "/workflows", params)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise Unavailable(
                    f"{base_url} did not answer like n8n's public API (no 'data' list)",
                    details={"url": base_url},
                )
            out.extend(page["data"])
            cursor = page.get("nextCursor")
            if not cursor:
                break
        return out

    async def workflow(self, base_url: str, api_key: str, workflow_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = await self._api(base_url, api_key, f"/workflows/{workflow_id}")
        return doc

    # ------------------------------------------------------------------ triggers

    async def run(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        timeout: float,  # noqa: ASYNC109 - seconds the workflow may stay silent
    ) -> AsyncIterator[Output]:
        """POST to a trigger and yield its answer as it comes (streamed chunks one by one).

        Raises `WorkflowFailed` with n8n's reason, `UpstreamTimeout` after `timeout` seconds
        of silence, `Unavailable` when n8n cannot be reached.
        """
        limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        try:
            async with self._http.stream("POST", url, json=payload, timeout=limits) as resp:
                if resp.status_code >= 400:
                    body = await resp.aread()
                    raise WorkflowFailed(
                        f"the workflow failed: {_error_reason(resp, body)}",
                        details={"status": resp.status_code},
                    )
                ctype = resp.headers.get("content-type", "")
                buffer = b""
                streamed: bool | None = None
                async for raw in resp.aiter_bytes():
                    buffer += raw
                    if streamed is None:
                        head = buffer.lstrip()
                        if not head:
                            continue
                        streamed = head[:1] == b"{" and _looks_streamed(head)
                        if streamed is None:
                            continue
                    if not streamed:
                        continue
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if (out := _chunk(line)) is not None:
                            yield out
                if streamed:
                    if (out := _chunk(buffer)) is not None:
                        yield out
                    return
                for out in parse_output(buffer, ctype):
                    yield out
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"the workflow did not answer within {timeout:g}s", details={"url": url}
            ) from exc
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"n8n could not be reached at {url}: {type(exc).__name__}", details={"url": url}
            ) from exc


def _looks_streamed(head: bytes) -> bool | None:
    """True/False once the first line is complete; None while it is still arriving."""
    first, newline, _ = head.partition(b"\n")
    if not newline:
        try:
            doc = json.loads(first)
        except ValueError:
            return None
        # A whole body that is one chunk-shaped object without a newline is still a stream.
        return isinstance(doc, dict) and doc.get("type") in _CHUNK_TYPES
    try:
        doc = json.loads(first)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("type") in _CHUNK_TYPES


def _chunk(line: bytes) -> Output | None:
    line = line.strip()
    if not line:
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return Output(text=line.decode(errors="replace"))
    if not isinstance(doc, dict):
        return Output(data=doc)
    kind = doc.get("type")
    if kind == "error":
        raise WorkflowFailed(f"the workflow failed: {doc.get('content') or 'error chunk'}")
    if kind == "item":
        content = doc.get("content")
        if content is None or content == "":
            return None
        return Output(text=content) if isinstance(content, str) else Output(data=content)
    return None
