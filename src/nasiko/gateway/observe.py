"""Accounting for every proxied call: Prometheus metrics, a debug log line, an OTel span.

Metrics live in a registry of the app's own (several gateways may run in one test process)
and are served at ``/metrics``. Label children are cached per (agent, method, status) so a
call costs a dict lookup and two increments, not prometheus_client's label resolution.

Tracing: one span per call from ``svc.extensions["tracer_provider"]`` or the global
provider. The W3C ``traceparent`` sent to the agent is the span's own when it records;
otherwise the caller's is passed on unchanged, or a fresh one is started so the agent's
spans still share one trace id.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from nasiko.observability import metrics as shared

__all__ = ["CallRecord", "GatewayMetrics", "Tracing"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(slots=True)
class CallRecord:
    """What the gateway knows about one call when it ends (the accounting line)."""

    caller: str
    agent: str
    method: str
    status: int
    latency: float
    bytes_in: int
    bytes_out: int
    task_id: str | None = None
    context_id: str | None = None
    endpoint: str | None = None
    error: str | None = None


class GatewayMetrics:
    def __init__(self, chat_stats: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "nasiko_gateway_requests",
            "Calls through the gateway by agent, A2A method and HTTP status.",
            ["agent", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "nasiko_gateway_request_seconds",
            "Time from request to the end of the reply, by agent.",
            ["agent"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.bytes = Counter(
            "nasiko_gateway_bytes",
            "Body bytes through the gateway by agent and direction (in: to the agent).",
            ["agent", "direction"],
            registry=r,
        )
        self.upstream_failures = Counter(
            "nasiko_gateway_upstream_failures",
            "Agent endpoints that failed (connect, reset, timeout).",
            ["agent", "kind"],
            registry=r,
        )
        chat = Gauge(
            "nasiko_gateway_chatlog_entries",
            "Chat-log entries: pending in the buffer, written to the store, dropped.",
            ["state"],
            registry=r,
        )
        chat.labels("pending").set_function(lambda: chat_stats().get("pending", 0))
        chat.labels("written").set_function(lambda: chat_stats().get("written", 0))
        chat.labels("dropped").set_function(lambda: chat_stats().get("dropped", 0))
        self._children: dict[tuple[str, str, int], tuple[Any, ...]] = {}

    def record(self, call: CallRecord) -> None:
        key = (call.agent, call.method, call.status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(call.agent, call.method, str(call.status)),
                self.latency.labels(call.agent),
                self.bytes.labels(call.agent, "in"),
                self.bytes.labels(call.agent, "out"),
                # The platform-wide series the Grafana dashboard reads (one per process).
                shared.AGENT_REQUESTS.labels(agent=call.agent, status=str(call.status)),
                shared.AGENT_LATENCY.labels(agent=call.agent),
            )
            if len(self._children) < 50_000:
                self._children[key] = children
        count, latency, bytes_in, bytes_out, agent_count, agent_latency = children
        count.inc()
        latency.observe(call.latency)
        agent_count.inc()
        agent_latency.observe(call.latency)
        if call.bytes_in:
            bytes_in.inc(call.bytes_in)
        if call.bytes_out:
            bytes_out.inc(call.bytes_out)

    def failure(self, agent: str, kind: str) -> None:
        self.upstream_failures.labels(agent, kind).inc()


def _parse_traceparent(value: bytes) -> SpanContext | None:
    parts = value.split(b"-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3][:2], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags & 1))


class Tracing:
    def __init__(self, provider: Callable[[], Any | None]) -> None:
        # Looked up on first use: the trace store may install its provider after create_app.
        self._provider = provider
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            provider = self._provider() or trace.get_tracer_provider()
            self._tracer = provider.get_tracer("nasiko.gateway")
        return self._tracer

    def start(
        self, name: str, incoming: bytes | None, attributes: dict[str, Any]
    ) -> tuple[Span, bytes]:
        """The call's span and the traceparent to send upstream."""
        parent = _parse_traceparent(incoming) if incoming else None
        context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else None
        span = self.tracer.start_span(
            name, context=context, kind=SpanKind.CLIENT, attributes=attributes
        )
        ctx = span.get_span_context()
        if span.is_recording() or (ctx.is_valid and parent is None):
            flags = int(ctx.trace_flags) & 1
            header = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{flags:02x}".encode()
        elif incoming and parent is not None:
            header = incoming
        else:
            # Nothing records here: start a trace anyway so the agent's spans share an id.
            header = b"00-" + os.urandom(16).hex().encode() + b"-" + os.urandom(8).hex().encode()
            header += b"-01"
        return span, header
