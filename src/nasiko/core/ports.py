"""Ports: the small async interfaces the core is written against.

Adapters live in ``nasiko.storage`` (SQL repositories, job queues, event buses, caches) and
``nasiko.runtime`` (where agents run). Each port has an embedded implementation (in-process,
SQLite) and a server-mode one (PostgreSQL, Redis), chosen in ``nasiko.bootstrap``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Event:
    """A change announcement, e.g. topic "registry" kind "agent.updated"."""

    topic: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, topic: str, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` for every event on ``topic`` (from any process); returns unsubscribe."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True, slots=True)
class Job:
    id: str  # the queue's delivery id (stream entry id, or a counter in-process)
    kind: str  # e.g. "deploy"
    key: str  # idempotency key, e.g. the upload id
    payload: dict[str, Any]
    attempt: int = 1


class JobQueue(Protocol):
    """At-least-once job delivery. Handlers must be idempotent per ``Job.key``."""

    async def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> str: ...

    async def claim(self, consumer: str, *, block_seconds: float = 1.0) -> Job | None:
        """Next job for this consumer: a new one, or one whose consumer went silent."""
        ...

    async def ack(self, job: Job) -> None: ...

    async def depth(self) -> int: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- key/value and limits


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, *, ttl: float | None = None) -> int: ...


class RateLimiter(Protocol):
    async def hit(self, key: str, *, rate: float, burst: int, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from bucket ``key``; 0.0 if allowed, else seconds to wait."""
        ...


# --------------------------------------------------------------------------- runtimes

RuntimeName = Literal["process", "docker", "kubernetes"]
RuntimeState = Literal["starting", "running", "unhealthy", "stopped", "failed", "unknown"]


@dataclass(slots=True)
class AgentSpec:
    """Everything a runtime needs to build and run one version of an agent."""

    agent_id: str
    slug: str
    version: int
    source_dir: Path  # the validated, extracted package
    env: dict[str, str] = field(default_factory=dict)  # platform + package environment
    command: list[str] | None = None  # explicit command; else from the Dockerfile
    workdir: str | None = None
    port: int | None = None  # the port the agent should listen on (process: chosen free port)
    memory_mb: int | None = None
    cpus: float | None = None


@dataclass(slots=True)
class Deployment:
    """Where a running agent version lives; stored so a restarted platform can find it again."""

    runtime: RuntimeName
    ref: str  # pid, container id, k8s deployment name
    endpoints: list[str]  # base URLs the agent answers on
    artifact: str | None = None  # venv path or image id
    extra: dict[str, Any] = field(default_factory=dict)


LogSink = Callable[[str], Awaitable[None]]


@runtime_checkable
class Runtime(Protocol):
    name: RuntimeName

    async def build(self, spec: AgentSpec, *, log: LogSink) -> str:
        """Prepare what ``start`` runs (a venv, an image); returns the artefact reference."""
        ...

    async def start(self, spec: AgentSpec, artifact: str, *, log: LogSink) -> Deployment: ...

    async def stop(self, deployment: Deployment) -> None: ...

    async def status(self, deployment: Deployment) -> RuntimeState: ...

    async def logs(self, deployment: Deployment, *, tail: int = 200) -> list[str]: ...

    def follow_logs(self, deployment: Deployment) -> AsyncIterator[str]: ...

    async def close(self) -> None:
        """Stop supervising (the process runtime stops the agents it started)."""
        ...


# --------------------------------------------------------------------------- repositories


class UserRepo(Protocol):
    async def add(self, user: Any, password_hash: str | None) -> Any: ...
    async def get(self, user_id: str) -> Any | None: ...
    async def get_by_username(self, username: str) -> Any | None: ...
    async def get_by_github_id(self, github_id: str) -> Any | None: ...
    async def get_with_secret(self, username: str) -> Any | None: ...
    async def list(
        self, *, limit: int, offset: int, q: str | None = None
    ) -> tuple[list[Any], int]: ...
    async def update(self, user_id: str, **fields: Any) -> Any | None: ...
    async def delete(self, user_id: str) -> bool: ...
    async def count(self) -> int: ...


class TokenRepo(Protocol):
    async def add(self, record: Any, token_hash: str) -> None: ...
    async def get_by_hash(self, token_hash: str) -> Any | None: ...
    async def get(self, token_id: str) -> Any | None: ...
    async def list_for_user(self, user_id: str, kind: str) -> list[Any]: ...
    async def revoke(self, token_id: str) -> bool: ...
    async def revoke_all(self, user_id: str, kind: str | None = None) -> int: ...
    async def touch(self, token_id: str) -> None: ...


class AuditRepo(Protocol):
    async def add(self, entry: Any) -> None: ...
    async def list(self, *, limit: int, offset: int, **filters: Any) -> tuple[list[Any], int]: ...


class CredentialRepo(Protocol):
    async def put(
        self, *, user_id: str | None, kind: str, name: str, secret: str, meta: dict[str, Any] | None
    ) -> Any: ...
    async def get(self, *, user_id: str | None, kind: str, name: str = "default") -> Any | None: ...
    async def list(self, *, user_id: str | None, kind: str | None = None) -> list[Any]: ...
    async def delete(self, *, user_id: str | None, kind: str, name: str = "default") -> bool: ...


# --------------------------------------------------------------------------- registry view
# What the gateway and router need from the registry on their hot path: served from memory,
# kept fresh by registry events (topic "registry").


@dataclass(frozen=True, slots=True)
class AgentRoute:
    agent_id: str
    slug: str
    name: str
    owner_id: str
    visibility: str  # "private" | "shared" | "public"
    status: str
    endpoints: tuple[str, ...]  # upstream base URLs (replicas), e.g. "http://127.0.0.1:41234"
    card: dict[str, Any]  # normalised A2A v1.0 card, URLs as the agent published them
    rate_limit: float | None = None  # per-agent requests/second override


class RegistryView(Protocol):
    def route(self, slug: str) -> AgentRoute | None: ...

    def can_access(self, principal: Any, route: AgentRoute, *, skill: str | None = None) -> bool:
        """Visibility + grants (+ per-skill grants when ``skill`` is given), no I/O."""
        ...

    def visible(self, principal: Any) -> list[AgentRoute]: ...


# --------------------------------------------------------------------------- chat log


@dataclass(slots=True)
class ChatLogEntry:
    """One message or reply seen by the gateway, recorded asynchronously for chat history."""

    user_id: str | None
    caller_kind: str  # "user" | "agent"
    caller_id: str
    agent_id: str
    agent_slug: str
    role: str  # "user" | "agent"
    context_id: str | None
    task_id: str | None
    message_id: str | None
    parts: list[dict[str, Any]]
    state: str | None  # task state for agent replies (completed, input-required, failed…)
    at: float  # unix time
    latency_ms: float | None = None
    partial: bool = False  # a streamed reply that broke before its final event
    metadata: dict[str, Any] = field(default_factory=dict)


class ChatLogSink(Protocol):
    async def write_batch(self, entries: list[ChatLogEntry]) -> None: ...
