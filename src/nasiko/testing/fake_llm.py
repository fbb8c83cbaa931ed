"""A fake language-model server speaking the real OpenAI, Anthropic and Gemini REST APIs.

It is a real HTTP server on a loopback port (a thread in the test process), so agents talk to
it with their ordinary HTTP clients. Supported calls:

- ``POST /v1/chat/completions`` (OpenAI-compatible), plain JSON or SSE when ``stream`` is true,
  with ``usage`` in the reply (and in a final chunk when ``stream_options.include_usage``);
- ``POST /v1/messages`` (Anthropic Messages), JSON or SSE;
- ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``
  (Gemini).

Replies come from a ``responder(ChatRequest) -> str``; the default one is deterministic and easy
to assert on: ``"FAKE-LLM(<model>): <last user message>"``. Token counts are whitespace word
counts. Every request is recorded in ``server.requests``.

    with FakeLLM() as llm:
        env = {"OPENAI_BASE_URL": llm.openai_base_url, "OPENAI_API_KEY": "test"}
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class ChatRequest:
    """One model call as the fake saw it, normalised across the three APIs."""

    api: str  # "openai" | "anthropic" | "gemini"
    model: str
    system: str
    user: str
    stream: bool
    headers: dict[str, str]
    body: dict[str, Any] = field(repr=False)


Responder = Callable[[ChatRequest], str]


def echo_responder(request: ChatRequest) -> str:
    return f"FAKE-LLM({request.model}): {request.user}"


def count_tokens(text: str) -> int:
    return len(text.split())


class BackgroundHTTPServer:
    """A ThreadingHTTPServer on a free loopback port, run in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1") -> None:
        self._server = ThreadingHTTPServer((host, 0), handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> BackgroundHTTPServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def send_event(self, payload: Any, *, event: str | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        prefix = f"event: {event}\n" if event else ""
        self.wfile.write(f"{prefix}data: {text}\n\n".encode())
        self.wfile.flush()


_GEMINI_PATH = re.compile(
    r"^/v1beta/models/(?P<model>[^:/]+):(?P<op>generateContent|streamGenerateContent)$"
)


class _LLMHandler(JSONHandler):
    @property
    def fake(self) -> FakeLLM:
        return self.server.owner  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self.read_json()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if path.endswith("/chat/completions"):
            self._openai(body, headers)
        elif path == "/v1/messages":
            self._anthropic(body, headers)
        elif match := _GEMINI_PATH.match(path):
            self._gemini(body, headers, match["model"], match["op"] == "streamGenerateContent")
        else:
            self.send_json(404, {"error": {"message": f"no such route {path}"}})

    def _reply_for(self, request: ChatRequest) -> str | None:
        self.fake.requests.append(request)
        if self.fake.fail_with is not None:
            status, message = self.fake.fail_with
            self.send_json(status, {"error": {"message": message, "type": "fake_error"}})
            return None
        return self.fake.responder(request)

    def _openai(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        messages = body.get("messages", [])
        system = "\n".join(_text(m) for m in messages if m.get("role") == "system")
        users = [_text(m) for m in messages if m.get("role") == "user"]
        request = ChatRequest(
            "openai",
            body.get("model", ""),
            system,
            users[-1] if users else "",
            bool(body.get("stream")),
            headers,
            body,
        )
        reply = self._reply_for(request)
        if reply is None:
            return
        usage = {
            "prompt_tokens": count_tokens(system + " " + request.user),
            "completion_tokens": count_tokens(reply),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        base = {"id": "chatcmpl-fake", "model": request.model, "created": 0}
        if not request.stream:
            self.send_json(
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply},
                        }
                    ],
                },
            )
            return
        self.start_sse()
        for piece in self.fake.chunks(reply):
            self.send_event(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {"content": piece}}],
                }
            )
        self.send_event(
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            self.send_event(
                {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        self.send_event("[DONE]")

    def _anthropic(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        if not headers.get("x-api-key"):
            self.send_json(
                401,
                {
                    "type": "error",
                    "error": {"type": "authentication_error", "message": "x-api-key missing"},
                },
            )
            return
        system = body.get("system") or ""
        if isinstance(system, list):
            system = "\n".join(b.get("text", "") for b in system)
        users = [_text(m) for m in body.get("messages", []) if m.get("role") == "user"]
        request = ChatRequest(
            "anthropic",
            body.get("model", ""),
            system,
            users[-1] if users else "",
            bool(body.get("stream")),
            headers,
            body,
        )
        reply = self._reply_for(request)
        if reply is None:
            return
        n_in, n_out = count_tokens(system + " " + request.user), count_tokens(reply)
        if not request.stream:
            self.send_json(
                200,
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": request.model,
                    "content": [{"type": "text", "text": reply}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": n_in, "output_tokens": n_out},
                },
            )
            return
        self.start_sse()
        self.send_event(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": request.model,
                    "content": [],
                    "usage": {"input_tokens": n_in, "output_tokens": 1},
                },
            },
            event="message_start",
        )
        self.send_event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            event="content_block_start",
        )
        for piece in self.fake.chunks(reply):
            self.send_event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                event="content_block_delta",
            )
        self.send_event({"type": "content_block_stop", "index": 0}, event="content_block_stop")
        self.send_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": n_out},
            },
            event="message_delta",
        )
        self.send_event({"type": "message_stop"}, event="message_stop")

    def _gemini(
        self, body: dict[str, Any], headers: dict[str, str], model: str, stream: bool
    ) -> None:
        if not headers.get("x-goog-api-key") and "key=" not in self.path:
            self.send_json(
                403,
                {
                    "error": {
                        "code": 403,
                        "status": "PERMISSION_DENIED",
                        "message": "API key missing",
                    }
                },
            )
            return
        system = " ".join(
            p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", [])
        )
        users = [
            " ".join(p.get("text", "") for p in c.get("parts", []))
            for c in body.get("contents", [])
            if c.get("role", "user") == "user"
        ]
        request = ChatRequest(
            "gemini", model, system, users[-1] if users else "", stream, headers, body
        )
        reply = self._reply_for(request)
        if reply is None:
            return
        n_in, n_out = count_tokens(system + " " + request.user), count_tokens(reply)

        def chunk(text: str, *, final: bool) -> dict[str, Any]:
            out: dict[str, Any] = {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
                ],
                "modelVersion": model,
            }
            if final:
                out["candidates"][0]["finishReason"] = "STOP"
                out["usageMetadata"] = {
                    "promptTokenCount": n_in,
                    "candidatesTokenCount": n_out,
                    "totalTokenCount": n_in + n_out,
                }
            return out

        if not stream:
            self.send_json(200, chunk(reply, final=True))
            return
        self.start_sse()
        pieces = list(self.fake.chunks(reply)) or [""]
        for i, piece in enumerate(pieces):
            self.send_event(chunk(piece, final=i == len(pieces) - 1))


def _text(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


class FakeLLM(BackgroundHTTPServer):
    """The fake model server. ``responder`` and ``fail_with`` may be changed between calls."""

    def __init__(self, responder: Responder = echo_responder, *, chunk_size: int = 16) -> None:
        super().__init__(_LLMHandler)
        self.responder = responder
        self.chunk_size = chunk_size
        self.requests: list[ChatRequest] = []
        self.fail_with: tuple[int, str] | None = None

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def chunks(self, text: str) -> Iterator[str]:
        for i in range(0, len(text), self.chunk_size):
            yield text[i : i + self.chunk_size]

    def env(self, provider: str = "openai", *, model: str = "fake-model") -> dict[str, str]:
        """Environment variables that point an agent's provider layer at this server."""
        if provider == "anthropic":
            return {
                "LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "test-key",
                "ANTHROPIC_BASE_URL": self.url,
                "ANTHROPIC_MODEL": model,
            }
        if provider == "gemini":
            return {
                "LLM_PROVIDER": "gemini",
                "GOOGLE_API_KEY": "test-key",
                "GEMINI_BASE_URL": self.url,
                "GEMINI_MODEL": model,
            }
        return {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_MODEL": model,
        }


def main() -> None:  # pragma: no cover - manual use: python -m nasiko.testing.fake_llm
    with FakeLLM() as llm:
        print(
            f"fake LLM listening on {llm.url} (OPENAI_BASE_URL={llm.openai_base_url})", flush=True
        )
        threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
