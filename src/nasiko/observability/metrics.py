"""Prometheus metrics every component shares, and the `/metrics` endpoint.

Components import the metric they update, e.g. the gateway::

    from nasiko.observability import metrics
    metrics.AGENT_REQUESTS.labels(agent=slug, status="200").inc()
    metrics.AGENT_LATENCY.labels(agent=slug).observe(seconds)

All metrics live in one registry (`REGISTRY`, not prometheus_client's global one) so tests
and embedded runs never collide with other libraries' collectors. Label values must stay
bounded: agent slugs, status codes, outcomes — never ids or user input.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app
from starlette.types import ASGIApp

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_DEPLOY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800)

# Gateway: one sample per proxied agent call.
AGENT_REQUESTS = Counter(
    "nasiko_agent_requests",
    "Requests proxied to agents, by agent and HTTP status.",
    ["agent", "status"],
    registry=REGISTRY,
)
AGENT_LATENCY = Histogram(
    "nasiko_agent_request_duration_seconds",
    "Time from request to the end of the agent's reply (streams: to the last event).",
    ["agent"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
# Every HTTP edge (api, gateway, router): requests by component, route template and status.
HTTP_REQUESTS = Counter(
    "nasiko_http_requests",
    "HTTP requests served, by component and status.",
    ["component", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "nasiko_http_request_duration_seconds",
    "HTTP request latency by component.",
    ["component"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
# Worker: deploys.
DEPLOYS = Counter(
    "nasiko_deploys",
    "Finished deploys, by runtime and outcome (succeeded, failed, cancelled).",
    ["runtime", "outcome"],
    registry=REGISTRY,
)
DEPLOY_DURATION = Histogram(
    "nasiko_deploy_duration_seconds",
    "Deploy duration from claim to healthy (or failure), by runtime and outcome.",
    ["runtime", "outcome"],
    buckets=_DEPLOY_BUCKETS,
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "nasiko_queue_depth",
    "Jobs waiting in a queue.",
    ["queue"],
    registry=REGISTRY,
)
# Gateway chat log: entries lost because the store was too slow or down.
CHAT_LOG_DROPPED = Counter(
    "nasiko_chat_log_dropped",
    "Chat-log entries dropped because the buffer was full.",
    registry=REGISTRY,
)
# Observability itself.
SPANS_RECEIVED = Counter(
    "nasiko_spans_received",
    "Spans accepted by the OTLP receiver, by encoding (protobuf, json) or 'self'.",
    ["source"],
    registry=REGISTRY,
)
SPANS_REJECTED = Counter(
    "nasiko_spans_rejected_requests",
    "OTLP export requests refused, by reason (invalid, too_large, unauthenticated, busy).",
    ["reason"],
    registry=REGISTRY,
)
SPANS_STORED = Counter("nasiko_spans_stored", "Spans written to the database.", registry=REGISTRY)
SPANS_DROPPED = Counter(
    "nasiko_spans_dropped",
    "Spans lost: the database refused them after retries, or the buffer was full.",
    registry=REGISTRY,
)
SPAN_BUFFER = Gauge("nasiko_span_buffer", "Spans received but not yet written.", registry=REGISTRY)
FORWARD_DROPPED = Counter(
    "nasiko_spans_forward_dropped_payloads",
    "Span payloads not delivered to the forward endpoint (buffer full or retries exhausted).",
    registry=REGISTRY,
)


def metrics_app(registry: CollectorRegistry = REGISTRY) -> ASGIApp:
    """An ASGI app serving the registry in the Prometheus text format (mount at /metrics)."""
    app: ASGIApp = make_asgi_app(registry=registry)
    return app
