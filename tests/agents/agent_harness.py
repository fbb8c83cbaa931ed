"""Run a sample agent as a real A2A server (a subprocess) and talk to it with the a2a-sdk client."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_data_part, new_raw_part, new_text_part, new_url_part
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, TaskState
from google.protobuf import json_format

AGENTS_DIR = Path(__file__).resolve().parents[2] / "agents"
# Variables that would silently give an agent a model (or a token) from the developer's shell.
_SCRUBBED = (
    "LLM_PROVIDER",
    "LLM_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GEMINI_BASE_URL",
    "GEMINI_MODEL",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "PUBLIC_URL",
    "COMPLIANCE_RULES_DIR",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AgentProcess:
    """``python -m src.main`` in the agent's folder, exactly as the platform starts it."""

    def __init__(self, slug: str, env: dict[str, str] | None = None) -> None:
        self.slug = slug
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        full_env.update({"PORT": str(self.port), "HOST": "127.0.0.1", "LOG_LEVEL": "warning"})
        full_env.update(env or {})
        self._log = open(  # noqa: SIM115 - closed in stop()
            Path(os.environ.get("TMPDIR", "/tmp")) / f"agent-{slug}-{self.port}.log", "w+"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "src.main"],
            cwd=AGENTS_DIR / slug,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.slug} exited early:\n{self.output()}")
            try:
                if (
                    httpx.get(self.url + ".well-known/agent-card.json", timeout=1).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.slug} did not start:\n{self.output()}")

    def output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@dataclass
class Reply:
    """Everything an agent streamed back for one message."""

    state: str = ""
    text: str = ""
    status_texts: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    chunks: int = 0
    context_id: str = ""
    events: int = 0

    @property
    def failure(self) -> str:
        return self.status_texts[-1] if self.state == "TASK_STATE_FAILED" else ""


def text_part(text: str) -> Part:
    return new_text_part(text)


def file_part(content: bytes, *, filename: str, media_type: str) -> Part:
    return new_raw_part(content, media_type=media_type, filename=filename)


def url_part(url: str, *, filename: str, media_type: str) -> Part:
    return new_url_part(url, media_type=media_type, filename=filename)


def data_part(value: dict[str, Any]) -> Part:
    return new_data_part(value)


async def ask(
    url: str,
    *parts: Part | str,
    context_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    streaming: bool = True,
) -> Reply:
    message = Message(
        role=Role.ROLE_USER,
        message_id=str(uuid.uuid4()),
        context_id=context_id or "",
        parts=[text_part(p) if isinstance(p, str) else p for p in parts],
    )
    if metadata:
        message.metadata.update(metadata)
    request = SendMessageRequest(message=message)
    async with httpx.AsyncClient(timeout=60) as http:
        client = await create_client(
            url, client_config=ClientConfig(streaming=streaming, httpx_client=http)
        )
        reply = Reply()
        async for event in client.send_message(request):
            reply.events += 1
            _absorb(reply, event)
        await client.close()
    return reply


def _absorb(reply: Reply, event: Any) -> None:
    if event.HasField("task"):
        task = event.task
        reply.context_id = task.context_id
        reply.state = TaskState.Name(task.status.state)
        if task.status.message.parts:
            reply.status_texts.append(_texts(task.status.message.parts))
        for artifact in task.artifacts:  # the non-streaming path returns a finished task
            _artifact(reply, artifact.name, artifact.parts)
    elif event.HasField("status_update"):
        status = event.status_update.status
        reply.state = TaskState.Name(status.state)
        if status.message.parts:
            reply.status_texts.append(_texts(status.message.parts))
    elif event.HasField("artifact_update"):
        artifact = event.artifact_update.artifact
        _artifact(reply, artifact.name or artifact.artifact_id, artifact.parts)
    elif event.HasField("message"):
        reply.text += _texts(event.message.parts)


def _artifact(reply: Reply, name: str, parts: Any) -> None:
    for part in parts:
        if part.HasField("text"):
            reply.text += part.text
            reply.chunks += 1 if part.text else 0
        elif part.HasField("data"):
            reply.data[name] = json_format.MessageToDict(part.data)


def _texts(parts: Any) -> str:
    return "".join(p.text for p in parts if p.HasField("text"))


def load_agent_module(slug: str, module: str) -> ModuleType:
    """Import ``agents/<slug>/src/<module>.py`` under a unique package name.

    Every agent's package is called ``src``; loading each under its own name lets tests of
    several agents share one interpreter.
    """
    package = f"agent_{slug.replace('-', '_')}"
    src = AGENTS_DIR / slug / "src"
    if package not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            package, src / "__init__.py", submodule_search_locations=[str(src)]
        )
        assert spec and spec.loader
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[package] = pkg
        spec.loader.exec_module(pkg)
    return importlib.import_module(f"{package}.{module}")
