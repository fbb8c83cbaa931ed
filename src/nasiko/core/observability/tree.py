"""Spans of one trace -> a tree of SpanNode, with the trace's summary."""

from __future__ import annotations

from collections.abc import Sequence

from nasiko.core.observability import models as m


def _node(span: m.SpanRecord) -> m.SpanNode:
    return m.SpanNode(
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        kind=span.kind,
        start=m.ns_to_datetime(span.start_ns),
        duration_ms=span.duration_ms,
        status=span.status,
        status_message=span.status_message,
        service_name=span.service_name,
        agent=span.agent_slug,
        model=span.model,
        input_tokens=span.input_tokens,
        output_tokens=span.output_tokens,
        cost_usd=span.cost_usd,
        attributes=span.attributes,
        resource=span.resource,
        events=span.events,
    )


def summarise(trace_id: str, spans: Sequence[m.SpanRecord]) -> m.TraceSummary:
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    ids = {s.span_id for s in ordered}
    root = next((s for s in ordered if s.parent_span_id not in ids), ordered[0])
    errors = sum(1 for s in ordered if s.status == "error")
    start = ordered[0].start_ns
    end = max(s.end_ns for s in ordered)
    return m.TraceSummary(
        trace_id=trace_id,
        name=root.name,
        agent=next((s.agent_slug for s in ordered if s.agent_slug), None),
        session_id=max((s.session_id for s in ordered if s.session_id), default=None),
        user_id=max((s.user_id for s in ordered if s.user_id), default=None),
        start=m.ns_to_datetime(start),
        duration_ms=(end - start) / 1e6,
        span_count=len(ordered),
        error_count=errors,
        status="error" if errors else ("ok" if any(s.status == "ok" for s in ordered) else "unset"),
        input_tokens=sum(s.input_tokens or 0 for s in ordered),
        output_tokens=sum(s.output_tokens or 0 for s in ordered),
        cost_usd=sum(s.cost_usd or 0.0 for s in ordered),
    )


def build_tree(trace_id: str, spans: Sequence[m.SpanRecord]) -> m.TraceTree:
    """A span whose parent is not in the trace (it lives in a caller we never heard from)
    becomes a root, so nothing is hidden."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    nodes = {s.span_id: _node(s) for s in ordered}
    roots: list[m.SpanNode] = []
    for span in ordered:
        node = nodes[span.span_id]
        parent = nodes.get(span.parent_span_id) if span.parent_span_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    return m.TraceTree(summary=summarise(trace_id, ordered), roots=roots)
