"""Reassemble an agent's reply from what passes through the gateway, for the chat log.

Reads every shape an A2A reply takes on the wire, without a2a-sdk models:

* JSON-RPC envelopes (``{"jsonrpc", "id", "result" | "error"}``) and bare REST bodies;
* v1.0 results keyed by a oneof (``task``, ``message``, ``statusUpdate``, ``artifactUpdate``;
  snake_case in REST), v0.3 results tagged with ``kind`` (``status-update``…), v0.3 REST
  ``msg``/``content``;
* a blocking reply (one Task or Message) or a stream of events (artifact chunks appended
  by ``append: true`` are joined back into one text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["FINAL_STATES", "ReplyAssembler", "SseSplitter", "state_name"]

FINAL_STATES = frozenset(
    {"completed", "failed", "canceled", "cancelled", "rejected", "input-required", "auth-required"}
)
_ONEOF = (
    ("task", "task"),
    ("message", "message"),
    ("msg", "message"),
    ("statusUpdate", "status-update"),
    ("status_update", "status-update"),
    ("artifactUpdate", "artifact-update"),
    ("artifact_update", "artifact-update"),
)


def state_name(value: Any) -> str | None:
    """``TASK_STATE_INPUT_REQUIRED`` / ``input-required`` / ``input_required`` -> input-required."""
    if not isinstance(value, str) or not value:
        return None
    return value.lower().removeprefix("task_state_").replace("_", "-")


def _get(doc: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = doc.get(camel)
    return doc.get(snake) if value is None else value


def _parts(message: Any) -> list[dict[str, Any]]:
    if not isinstance(message, Mapping):
        return []
    parts = message.get("parts", message.get("content"))
    return [dict(p) for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


def _joined(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive text parts merged (streamed chunks were split only for transport)."""
    out: list[dict[str, Any]] = []
    for part in parts:
        text = part.get("text")
        if isinstance(text, str) and out and isinstance(out[-1].get("text"), str):
            out[-1] = {**out[-1], "text": out[-1]["text"] + text}
        else:
            out.append(part)
    return out


class ReplyAssembler:
    """Feed decoded reply documents in order; read the assembled reply at the end."""

    def __init__(self) -> None:
        self.task_id: str | None = None
        self.context_id: str | None = None
        self.message_id: str | None = None
        self.state: str | None = None
        self.final = False
        self.error: dict[str, Any] | None = None
        self.events = 0
        self._artifacts: dict[str, list[dict[str, Any]]] = {}
        self._status_parts: list[dict[str, Any]] = []
        self._message_parts: list[dict[str, Any]] | None = None

    def feed_bytes(self, data: bytes | str) -> None:
        try:
            doc = json.loads(data)
        except ValueError:
            return
        if isinstance(doc, Mapping):
            self.feed(doc)

    def feed(self, doc: Mapping[str, Any]) -> None:
        self.events += 1
        if "jsonrpc" in doc or "result" in doc or "error" in doc:
            error = doc.get("error")
            if isinstance(error, Mapping):
                self.error = dict(error)
                self.final = True
                return
            result = doc.get("result")
            if not isinstance(result, Mapping):
                return
            doc = result
        kind = doc.get("kind")
        if not isinstance(kind, str):
            for key, name in _ONEOF:
                inner = doc.get(key)
                if isinstance(inner, Mapping):
                    kind, doc = name, inner
                    break
            else:
                return
        if kind == "task":
            self._task(doc)
        elif kind == "message":
            self._ids(doc)
            self.message_id = _get(doc, "messageId", "message_id") or self.message_id
            self._message_parts = _parts(doc)
            self.final = True
        elif kind == "status-update":
            self._ids(doc, task_key=("taskId", "task_id"))
            self._status(doc.get("status"))
        elif kind == "artifact-update":
            self._ids(doc, task_key=("taskId", "task_id"))
            artifact = doc.get("artifact")
            if isinstance(artifact, Mapping):
                key = str(_get(artifact, "artifactId", "artifact_id") or "")
                parts = _parts(artifact)
                if doc.get("append") and key in self._artifacts:
                    self._artifacts[key].extend(parts)
                else:
                    self._artifacts[key] = parts

    def _ids(
        self, doc: Mapping[str, Any], task_key: tuple[str, str] = ("taskId", "task_id")
    ) -> None:
        self.task_id = _get(doc, *task_key) or self.task_id
        self.context_id = _get(doc, "contextId", "context_id") or self.context_id

    def _status(self, status: Any) -> None:
        if not isinstance(status, Mapping):
            return
        state = state_name(status.get("state"))
        if state:
            self.state = state
            self.final = self.final or state in FINAL_STATES
        parts = _parts(status.get("message") or status.get("update"))
        if parts:
            self._status_parts = parts

    def _task(self, task: Mapping[str, Any]) -> None:
        self.task_id = _get(task, "id", "id") or self.task_id
        self.context_id = _get(task, "contextId", "context_id") or self.context_id
        self._status(task.get("status"))
        artifacts = task.get("artifacts")
        if isinstance(artifacts, list):
            for artifact in artifacts:
                if isinstance(artifact, Mapping):
                    key = str(_get(artifact, "artifactId", "artifact_id") or "")
                    self._artifacts[key] = _parts(artifact)

    @property
    def parts(self) -> list[dict[str, Any]]:
        if self._message_parts is not None:
            return _joined(self._message_parts)
        out: list[dict[str, Any]] = []
        for parts in self._artifacts.values():
            out.extend(_joined(parts))
        return out or list(self._status_parts)

    @property
    def text(self) -> str:
        return "\n".join(p["text"] for p in self.parts if isinstance(p.get("text"), str))


class SseSplitter:
    """Cuts a byte stream into whole SSE events.

    ``feed`` returns ``(complete, datas)``: the bytes up to the last event boundary seen
    (forwarded as they are, so a client never gets half an event) and the ``data:`` payload
    of each completed event. The remainder waits for the next chunk.
    """

    def __init__(self, *, collect: bool) -> None:
        self._pending = b""
        self._collect = collect

    def feed(self, chunk: bytes) -> tuple[bytes, list[bytes]]:
        data = self._pending + chunk if self._pending else chunk
        lf, crlf = data.rfind(b"\n\n"), data.rfind(b"\n\r\n")
        end = max(lf + 2 if lf >= 0 else 0, crlf + 3 if crlf >= 0 else 0)
        if end == 0:
            self._pending = data
            return b"", []
        complete, self._pending = data[:end], data[end:]
        return complete, (self._datas(complete) if self._collect else [])

    @property
    def pending(self) -> bytes:
        return self._pending

    @staticmethod
    def _datas(block: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in block.replace(b"\r\n", b"\n").split(b"\n\n"):
            lines = [
                line[5:].removeprefix(b" ")
                for line in event.split(b"\n")
                if line.startswith(b"data:")
            ]
            if lines:
                out.append(b"\n".join(lines))
        return out
