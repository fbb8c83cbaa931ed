"""Closing the books on one call: metrics, the debug accounting line, the span, and the
chat-log entries (user message + reassembled reply) handed to the buffer."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from nasiko import errors
from nasiko.a2a.wire import A2ARequest
from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute, ChatLogEntry
from nasiko.gateway.chatlog import ChatLogBuffer
from nasiko.gateway.observe import CallRecord, GatewayMetrics
from nasiko.gateway.replies import ReplyAssembler

__all__ = ["Accounting"]

log = logging.getLogger("nasiko.gateway")


class Accounting:
    def __init__(self, *, metrics: GatewayMetrics, chatlog: ChatLogBuffer) -> None:
        self.metrics = metrics
        self.chatlog = chatlog
        self.debug = log.isEnabledFor(logging.DEBUG)

    def rejected(
        self,
        principal: Principal | None,
        slug: str,
        call: A2ARequest | None,
        status: int,
        started: float,
        exc: errors.NasikoError,
    ) -> None:
        caller = f"{principal.kind}:{principal.id}" if principal else "anonymous"
        method = call.canonical_method if call else "-"
        # Unknown slugs are not labelled by name: a scanner must not blow up the metric series.
        agent = slug if status not in (401, 404) else "-"
        record = CallRecord(caller, agent, method, status, time.perf_counter() - started, 0, 0)
        record.error = exc.code
        self.metrics.record(record)
        if self.debug:
            log.debug("gateway call %s", json.dumps(_record_dict(record)))

    def finish(
        self,
        *,
        principal: Principal,
        route: AgentRoute,
        call: A2ARequest | None,
        method_name: str,
        status: int,
        latency: float,
        bytes_in: int,
        bytes_out: int,
        endpoint: str | None,
        error: errors.NasikoError | None,
        span: Any,
        assembler: ReplyAssembler | None,
        broken: bool,
    ) -> None:
        task_id = (assembler.task_id if assembler else None) or (call.task_id if call else None)
        context_id = (assembler.context_id if assembler else None) or (
            call.context_id if call else None
        )
        record = CallRecord(
            f"{principal.kind}:{principal.id}",
            route.slug,
            method_name,
            status,
            latency,
            max(bytes_in, 0),
            bytes_out,
            task_id,
            context_id,
            endpoint,
            error.code if error else ("stream_broken" if broken else None),
        )
        self.metrics.record(record)
        if self.debug:
            log.debug("gateway call %s", json.dumps(_record_dict(record)))
        if span.is_recording():
            span.set_attributes(
                {
                    "http.response.status_code": status,
                    "nasiko.caller": record.caller,
                    "nasiko.endpoint": endpoint or "",
                    "a2a.task_id": task_id or "",
                    "a2a.context_id": context_id or "",
                    "nasiko.bytes_out": bytes_out,
                }
            )
            if status >= 500 or broken:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, record.error or str(status)))
        span.end()
        if assembler is not None and call is not None and (endpoint or status < 500):
            self._chat(principal, route, call, assembler, latency, broken=broken or status >= 500)

    def _chat(
        self,
        principal: Principal,
        route: AgentRoute,
        call: A2ARequest,
        reply: ReplyAssembler,
        latency: float,
        *,
        broken: bool,
    ) -> None:
        now = time.time()
        user_id = principal.id if principal.kind == "user" else None
        caller = principal.kind, principal.id
        context_id = call.context_id or reply.context_id
        task_id = call.task_id or reply.task_id
        meta = {"method": call.method, "binding": call.binding, "version": call.version}
        self.chatlog.put(
            ChatLogEntry(
                user_id,
                caller[0],
                caller[1],
                route.agent_id,
                route.slug,
                "user",
                context_id,
                task_id,
                call.message_id,
                call.parts,
                None,
                now - latency,
                metadata=meta,
            )
        )
        agent_meta: dict[str, Any] = dict(meta)
        if reply.error is not None:
            agent_meta["error"] = reply.error
        self.chatlog.put(
            ChatLogEntry(
                user_id,
                caller[0],
                caller[1],
                route.agent_id,
                route.slug,
                "agent",
                reply.context_id or context_id,
                reply.task_id or task_id,
                reply.message_id,
                reply.parts,
                reply.state or ("message" if reply.final and not reply.error else None),
                now,
                latency_ms=latency * 1000.0,
                partial=broken or not reply.final,
                metadata=agent_meta,
            )
        )


def _record_dict(record: CallRecord) -> dict[str, Any]:
    return {
        "caller": record.caller,
        "agent": record.agent,
        "method": record.method,
        "status": record.status,
        "latency_ms": round(record.latency * 1000, 3),
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "task_id": record.task_id,
        "context_id": record.context_id,
        "endpoint": record.endpoint,
        "error": record.error,
    }
