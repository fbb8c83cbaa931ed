"""TraceService + SQL repository, on SQLite and on PostgreSQL (the `backend` fixture)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from nasiko.core.models import Principal
from nasiko.core.observability.models import SpanRecord, TraceFilter, Visibility
from nasiko.core.observability.service import TraceService
from nasiko.errors import Forbidden, NotFound, Unavailable
from nasiko.testing.otlp import new_trace_id, span

ALL = Visibility(all=True)
NOW = time.time_ns()


def _trace(
    service: TraceService,
    *,
    agent: str = "alpha",
    user: str | None = "u1",
    session: str | None = "s1",
    duration_ms: float = 100.0,
    error: bool = False,
    tokens: tuple[int, int] | None = (100, 20),
    model: str = "gpt-4o-mini",
    start_ns: int = NOW,
) -> tuple[str, list[SpanRecord]]:
    """gateway span (agent, user, session) -> agent server span -> LLM client span."""
    tid = new_trace_id()
    attrs: dict[str, object] = {"nasiko.agent": agent}
    if user:
        attrs["nasiko.user.id"] = user
    if session:
        attrs["nasiko.session.id"] = session
    gw = span(
        trace_id=tid,
        name="a2a message/send",
        kind="client",
        start_ns=start_ns,
        duration_ms=duration_ms,
        attributes=attrs,
    )
    server = span(
        trace_id=tid,
        parent=gw.span_id,
        name="POST /",
        kind="server",
        start_ns=start_ns + 1_000_000,
        duration_ms=duration_ms - 2,
        status="error" if error else "ok",
    )
    llm_attrs: dict[str, object] = {"gen_ai.request.model": model}
    if tokens:
        llm_attrs |= {
            "gen_ai.usage.input_tokens": tokens[0],
            "gen_ai.usage.output_tokens": tokens[1],
        }
    llm = span(
        trace_id=tid,
        parent=server.span_id,
        name=f"chat {model}",
        kind="client",
        start_ns=start_ns + 2_000_000,
        duration_ms=duration_ms / 2,
        attributes=llm_attrs,
    )
    spans = [service.enrich(s) for s in (gw, server, llm)]
    return tid, spans


async def test_ingest_list_and_tree(traces: TraceService) -> None:
    tid, spans = _trace(traces)
    # Children first and in two requests: order of arrival must not matter.
    traces.submit(spans[2:])
    await traces.flush()
    traces.submit(spans[:2])
    traces.submit(spans[:1])  # an exporter retry: stored once
    await traces.flush()
    assert await traces.repo.count() == 3

    page = await traces.list_traces(TraceFilter(), ALL)
    assert page.total == 1
    summary = page.items[0]
    assert summary.trace_id == tid and summary.name == "a2a message/send"
    assert summary.agent == "alpha" and summary.user_id == "u1" and summary.session_id == "s1"
    assert (summary.span_count, summary.input_tokens, summary.output_tokens) == (3, 100, 20)
    assert summary.cost_usd == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)
    assert summary.duration_ms == pytest.approx(100.0) and summary.status == "ok"

    tree = await traces.get_trace(tid.upper(), ALL)
    gw = tree.roots[0]
    assert [n.name for n in tree.roots] == ["a2a message/send"]
    assert gw.children[0].name == "POST /"
    llm = gw.children[0].children[0]
    assert (llm.model, llm.input_tokens, llm.output_tokens) == ("gpt-4o-mini", 100, 20)
    # The LLM span had no agent of its own: it belongs to the agent of the span above it.
    assert llm.agent == "alpha" and gw.children[0].agent == "alpha"
    with pytest.raises(NotFound):
        await traces.get_trace(new_trace_id(), ALL)


async def test_filters(traces: TraceService) -> None:
    old = NOW - 3 * 3600 * 10**9
    a, sa = _trace(traces, agent="alpha", user="u1", session="s1", duration_ms=50)
    b, sb = _trace(traces, agent="beta", user="u2", session="s2", duration_ms=500, error=True)
    c, sc = _trace(traces, agent="alpha", user="u2", session="s3", duration_ms=5, start_ns=old)
    traces.submit(sa + sb + sc)
    await traces.flush()

    async def ids(**kw: object) -> set[str]:
        page = await traces.list_traces(TraceFilter(**kw), ALL)  # type: ignore[arg-type]
        assert page.total == len(page.items)
        return {t.trace_id for t in page.items}

    assert await ids() == {a, b, c}
    assert await ids(agent="alpha") == {a, c}
    assert await ids(session_id="s2") == {b}
    assert await ids(user_id="u2") == {b, c}
    assert await ids(status="error") == {b}
    assert await ids(status="ok") == {a, c}
    assert await ids(min_duration_ms=100) == {b}
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert await ids(since=hour_ago) == {a, b}
    assert await ids(until=hour_ago) == {c}
    newest_first = await traces.list_traces(TraceFilter(), ALL, limit=2, offset=0)
    assert newest_first.total == 3 and len(newest_first.items) == 2
    assert c not in {t.trace_id for t in newest_first.items}


async def test_agent_summary_percentiles_tokens_cost(traces: TraceService) -> None:
    spans: list[SpanRecord] = []
    for i in range(1, 21):  # alpha: 20 calls of 10, 20, ... 200 ms; every 5th fails
        spans += _trace(traces, agent="alpha", duration_ms=10.0 * i, error=i % 5 == 0)[1]
    spans += _trace(
        traces, agent="beta", duration_ms=40, tokens=(1000, 1000), model="claude-3-5-haiku-20241022"
    )[1]
    spans += _trace(traces, agent="gamma", tokens=(10, 10), model="unknown-model")[1]
    traces.submit(spans)
    await traces.flush()

    rows = {r.agent: r for r in await traces.summary(ALL)}
    alpha = rows["alpha"]
    assert (alpha.calls, alpha.errors) == (20, 4)
    # Nearest rank: p50 is the 10th of 20 (100 ms), p95 the 19th (190 ms).
    assert alpha.p50_ms == pytest.approx(100.0) and alpha.p95_ms == pytest.approx(190.0)
    assert (alpha.input_tokens, alpha.output_tokens) == (2000, 400)
    assert alpha.cost_usd == pytest.approx(20 * (100 * 0.15 + 20 * 0.60) / 1e6)
    beta = rows["beta"]
    assert beta.calls == 1 and beta.p50_ms == pytest.approx(40.0) == beta.p95_ms
    assert beta.cost_usd == pytest.approx((1000 * 0.8 + 1000 * 4.0) / 1e6)
    assert rows["gamma"].cost_usd == 0.0 and rows["gamma"].input_tokens == 10
    # A window that ends before everything is empty.
    assert (
        await traces.summary(
            ALL,
            since=datetime.now(UTC) - timedelta(days=2),
            until=datetime.now(UTC) - timedelta(days=1),
        )
        == []
    )


async def test_rollups_per_session_user_agent_trace(traces: TraceService) -> None:
    t1, s1 = _trace(traces, agent="alpha", user="u1", session="s1")
    t2, s2 = _trace(traces, agent="beta", user="u1", session="s1", tokens=(50, 5))
    t3, s3 = _trace(traces, agent="beta", user="u2", session="s2", tokens=None)
    traces.submit(s1 + s2 + s3)
    await traces.flush()

    by_session = {r.key: r for r in await traces.rollup("session", ALL)}
    assert by_session["s1"].traces == 2 and by_session["s1"].spans == 6
    assert (by_session["s1"].input_tokens, by_session["s1"].output_tokens) == (150, 25)
    assert by_session["s2"].input_tokens == 0 and by_session["s2"].cost_usd == 0.0
    by_user = {r.key: r for r in await traces.rollup("user", ALL)}
    assert by_user["u1"].cost_usd == pytest.approx(by_session["s1"].cost_usd)
    by_agent = {r.key: r for r in await traces.rollup("agent", ALL)}
    assert by_agent["beta"].traces == 2 and by_agent["beta"].input_tokens == 50
    by_trace = {r.key: r for r in await traces.rollup("trace", ALL)}
    assert set(by_trace) == {t1, t2, t3} and by_trace[t1].spans == 3


async def test_visibility_rules(traces: TraceService) -> None:
    mine, s1 = _trace(traces, agent="alpha", user="u1")
    owned, s2 = _trace(traces, agent="owned-agent", user="someone-else")
    other, s3 = _trace(traces, agent="beta", user="u2")
    traces.submit(s1 + s2 + s3)
    await traces.flush()

    async def owned_agents(principal: Principal) -> list[str]:
        return ["owned-agent"] if principal.id == "u1" else []

    traces.owned_agents = owned_agents
    user = Principal(kind="user", id="u1", name="u1")
    vis = await traces.visibility(user)
    page = await traces.list_traces(TraceFilter(), vis)
    assert {t.trace_id for t in page.items} == {mine, owned}
    assert {r.agent for r in await traces.summary(vis)} == {"alpha", "owned-agent"}
    with pytest.raises(NotFound):
        await traces.get_trace(other, vis)
    admin = Principal(kind="user", id="a", name="admin", role="superuser")
    assert (await traces.list_traces(TraceFilter(), await traces.visibility(admin))).total == 3
    with pytest.raises(Forbidden):
        await traces.visibility(Principal(kind="agent", id="x", name="alpha"))


async def test_retention_cleanup(traces: TraceService) -> None:
    old_ns = NOW - (traces.retention_days + 1) * 86400 * 10**9
    _, old = _trace(traces, start_ns=old_ns)
    keep, new = _trace(traces)
    traces.submit(old + new)
    await traces.flush()
    assert await traces.cleanup() == 3
    assert await traces.repo.count() == 3
    assert [t.trace_id for t in (await traces.list_traces(TraceFilter(), ALL)).items] == [keep]
    assert await traces.cleanup() == 0


async def test_full_buffer_refuses_the_whole_request(traces: TraceService) -> None:
    traces.buffer_limit = 4
    _, spans = _trace(traces)
    traces.submit(spans)
    _, more = _trace(traces)
    with pytest.raises(Unavailable):
        traces.submit(more)
    await traces.flush()
    assert await traces.repo.count() == 3  # the first request whole, none of the second
