"""TraceService: span ingest through a bounded buffer, trace queries, retention.

Ingest never waits for the database: `submit` enriches the spans (tokens, cost, attribution)
and appends them to an in-memory buffer; a background flusher writes them in batches. When the
buffer is full, `submit` refuses the whole request with `Unavailable` (OTLP exporters retry on
503), so a request is stored completely or not at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from nasiko.core.models import Page, Principal, utcnow
from nasiko.core.observability import models as m
from nasiko.core.observability.ports import RollupBy, TraceRepo
from nasiko.core.observability.prices import PriceTable
from nasiko.core.observability.tree import build_tree
from nasiko.core.observability.usage import SESSION_KEYS, USER_KEYS, extract_usage, first_str
from nasiko.errors import Forbidden, NotFound, Unavailable

log = logging.getLogger(__name__)

OwnedAgents = Callable[[Principal], Awaitable[list[str]]]
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WRITE_ATTEMPTS = 5


class TraceService:
    def __init__(
        self,
        repo: TraceRepo,
        prices: PriceTable,
        *,
        retention_days: int = 14,
        buffer_limit: int = 200_000,
        batch_size: int = 2_000,
        flush_interval: float = 0.2,
        owned_agents: OwnedAgents | None = None,
        on_stored: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.repo = repo
        self.prices = prices
        self.retention_days = retention_days
        self.buffer_limit = buffer_limit
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.owned_agents = owned_agents
        self.on_stored = on_stored
        self.on_dropped = on_dropped
        self._buffer: collections.deque[m.SpanRecord] = collections.deque()
        self._write_lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ ingest

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def enrich(
        self,
        span: m.SpanRecord,
        *,
        agent_id: str | None = None,
        agent_slug: str | None = None,
        user_id: str | None = None,
    ) -> m.SpanRecord:
        """Fills model, tokens, cost and who the span belongs to, from its attributes."""
        attrs, res = span.attributes, span.resource
        usage = extract_usage(attrs)
        span.model = usage.model
        span.input_tokens = usage.input_tokens
        span.output_tokens = usage.output_tokens
        span.cost_usd = self.prices.cost(usage.model, usage.input_tokens, usage.output_tokens)
        span.agent_slug = (
            first_str(attrs, m.AGENT_SLUG_KEYS) or first_str(res, m.AGENT_SLUG_KEYS) or agent_slug
        )
        span.agent_id = first_str(attrs, (m.AGENT_ID,)) or first_str(res, (m.AGENT_ID,)) or agent_id
        span.session_id = first_str(attrs, SESSION_KEYS) or first_str(res, SESSION_KEYS)
        span.user_id = first_str(attrs, USER_KEYS) or first_str(res, USER_KEYS) or user_id
        span.service_name = first_str(res, ("service.name",))
        return span

    def submit(self, spans: Sequence[m.SpanRecord]) -> None:
        """Queue already-enriched spans for storage; all of them, or none (buffer full)."""
        if self._closed:
            raise Unavailable("the trace store is shutting down; retry shortly")
        if len(self._buffer) + len(spans) > self.buffer_limit:
            raise Unavailable(
                "the span buffer is full; the database is not keeping up. Retry shortly",
                details={"pending": len(self._buffer), "limit": self.buffer_limit},
            )
        self._buffer.extend(spans)
        self.start()
        if len(self._buffer) >= self.batch_size:
            self._wakeup.set()

    def submit_threadsafe(self, spans: Sequence[m.SpanRecord]) -> None:
        """For OpenTelemetry SDK exporters, which export from their own threads."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not started yet, or already closed: the platform's own spans are optional
        if threading.get_ident() == self._loop_thread:
            self._submit_quietly(list(spans))  # force_flush() on the loop's own thread
        else:
            loop.call_soon_threadsafe(self._submit_quietly, list(spans))

    def _submit_quietly(self, spans: list[m.SpanRecord]) -> None:
        try:
            self.submit(spans)
        except Unavailable:
            if self.on_dropped:
                self.on_dropped(len(spans))

    def start(self) -> None:
        """Starts the background flusher on the running loop (idempotent)."""
        if self._flusher is None or self._flusher.done():
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            self._flusher = self._loop.create_task(self._run(), name="trace-flusher")

    async def _run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.flush_interval)
            self._wakeup.clear()
            while self._buffer and not self._closed:
                await self._write_batch()

    async def _write_batch(self) -> None:
        async with self._write_lock:
            batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
            if not batch:
                return
            for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
                try:
                    await self.repo.add_many(batch)
                except Exception:  # the store is down or refused: retry, then drop and count
                    log.exception("writing %d spans failed (attempt %d)", len(batch), attempt)
                    if attempt == MAX_WRITE_ATTEMPTS:
                        if self.on_dropped:
                            self.on_dropped(len(batch))
                        return
                    await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
                else:
                    if self.on_stored:
                        self.on_stored(len(batch))
                    return

    async def flush(self) -> None:
        """Writes everything buffered so far (tests, shutdown)."""
        while self._buffer:
            await self._write_batch()
        async with self._write_lock:
            pass  # wait for a batch the flusher may be writing

    async def close(self) -> None:
        await self.flush()
        self._closed = True
        self._wakeup.set()
        if self._flusher is not None:
            await self._flusher
        await self.flush()

    # ------------------------------------------------------------------ reading

    async def visibility(self, principal: Principal) -> m.Visibility:
        """Superusers see every trace; a user sees the traces of calls they made and the
        traces that touch agents they own; agent tokens may send spans but not read them."""
        if principal.kind == "agent":
            raise Forbidden("agent tokens can send spans but not read traces")
        if principal.is_superuser:
            return m.Visibility(all=True)
        owned = await self.owned_agents(principal) if self.owned_agents else []
        return m.Visibility(user_ids=[principal.id], agent_slugs=owned)

    async def list_traces(
        self, flt: m.TraceFilter, vis: m.Visibility, *, limit: int = 50, offset: int = 0
    ) -> Page[m.TraceSummary]:
        items, total = await self.repo.list_traces(flt, vis, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def get_trace(self, trace_id: str, vis: m.Visibility) -> m.TraceTree:
        trace_id = trace_id.strip().lower()
        spans = await self.repo.get_spans(trace_id, vis)
        if not spans:
            raise NotFound(f"no trace {trace_id} (or it is not yours to see)")
        return build_tree(trace_id, spans)

    async def summary(
        self, vis: m.Visibility, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[m.AgentSummary]:
        since = since or utcnow() - DEFAULT_WINDOW
        return await self.repo.agent_summary(
            since_ns=m.datetime_to_ns(since),
            until_ns=m.datetime_to_ns(until) if until else None,
            vis=vis,
        )

    async def rollup(
        self,
        by: RollupBy,
        vis: m.Visibility,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[m.Rollup]:
        since = since or utcnow() - DEFAULT_WINDOW
        return await self.repo.rollup(
            by,
            since_ns=m.datetime_to_ns(since),
            until_ns=m.datetime_to_ns(until) if until else None,
            vis=vis,
            limit=limit,
        )

    # ------------------------------------------------------------------ retention

    async def cleanup(self, *, now: datetime | None = None) -> int:
        """Deletes spans that started more than `retention_days` ago; returns how many."""
        cutoff = (now or utcnow()) - timedelta(days=self.retention_days)
        deleted = await self.repo.delete_before(m.datetime_to_ns(cutoff))
        if deleted:
            log.info("retention: deleted %d spans older than %s", deleted, cutoff.isoformat())
        return deleted

    async def run_retention(self, stop: asyncio.Event, *, interval: float = 3600.0) -> None:
        """Background job: clean up now, then every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.cleanup()
            except Exception:  # a failed run is retried next interval; it must not end `up`
                log.exception("retention cleanup failed")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                continue
