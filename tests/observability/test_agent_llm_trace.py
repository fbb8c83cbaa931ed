"""One call to a real a2a-sdk agent that calls a (fake) OpenAI-compatible model through an
instrumented client becomes one trace: the caller's span (what the gateway makes), the agent's
server span and the LLM span with token counts; the summary shows tokens and priced cost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import a2a_pb2 as pb
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette

from nasiko.core.models import Principal
from nasiko.core.observability.models import Visibility
from nasiko.observability.selftrace import TracingMiddleware, setup_tracing
from nasiko.settings import Settings
from nasiko.testing.agents import build_echo_card, serve_asgi
from nasiko.testing.fake_llm import FakeLLM, count_tokens
from nasiko.testing.otlp import TraceStack

MODEL = "gpt-4o-mini"
AGENT_TOKEN = "nsa_llm-agent-identity"


class LLMExecutor(AgentExecutor):
    """Asks the model and answers with its reply, tracing the model call the GenAI way."""

    def __init__(self, llm_url: str, tracer: trace.Tracer) -> None:
        self.llm_url = llm_url
        self.tracer = tracer

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task_id = context.task_id or uuid.uuid4().hex
        context_id = context.context_id or uuid.uuid4().hex
        assert context.message is not None
        await event_queue.enqueue_event(
            pb.Task(
                id=task_id,
                context_id=context_id,
                history=[context.message],
                status=pb.TaskStatus(state=pb.TaskState.TASK_STATE_SUBMITTED),
            )
        )
        with self.tracer.start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.system", "openai")
            span.set_attribute("gen_ai.request.model", MODEL)
            async with httpx.AsyncClient() as client:
                resp = await client.post(
                    f"{self.llm_url}/chat/completions",
                    json={"model": MODEL, "messages": [{"role": "user", "content": text}]},
                    headers={"authorization": "Bearer test-key"},
                )
            data = resp.json()
            span.set_attribute("gen_ai.response.model", data["model"])
            span.set_attribute("gen_ai.usage.input_tokens", data["usage"]["prompt_tokens"])
            span.set_attribute("gen_ai.usage.output_tokens", data["usage"]["completion_tokens"])
        reply = data["choices"][0]["message"]["content"]
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.add_artifact([pb.Part(text=reply)], name="reply")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


@pytest.fixture
def stack(settings: Settings) -> Iterator[TraceStack]:
    with TraceStack(settings) as s:
        yield s


def test_caller_agent_and_llm_spans_form_one_priced_trace(stack: TraceStack) -> None:
    async def resolve(credential: str) -> Principal | None:
        return (
            Principal(kind="agent", id="agent-7", name="llm-agent")
            if credential == AGENT_TOKEN
            else None
        )

    stack.services.auth.agent_resolver = resolve  # what the registry does for deployed agents

    # The agent process: its own SDK, exporting over OTLP with its identity token.
    agent_provider = TracerProvider(resource=Resource.create({"service.name": "llm-agent"}))
    agent_provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(
                endpoint=stack.otlp_url + "/v1/traces",
                headers={"authorization": f"Bearer {AGENT_TOKEN}"},
            )
        )
    )
    # The platform's side of the call (the gateway makes this span per proxied call).
    platform_provider = stack.call(_setup(stack))
    caller = platform_provider.get_tracer("nasiko.gateway")

    with FakeLLM() as llm:

        def app(url: str) -> Starlette:
            card = build_echo_card(name="llm-agent", public_url=url)
            handler = DefaultRequestHandler(
                agent_executor=LLMExecutor(llm.openai_base_url, agent_provider.get_tracer("agent")),
                task_store=InMemoryTaskStore(),
                agent_card=card,
            )
            inner = Starlette(
                routes=[
                    *create_agent_card_routes(card),
                    *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
                ]
            )
            inner.add_middleware(TracingMiddleware, provider=agent_provider, component="llm-agent")
            return inner

        question = "what is the capital of France"
        with (
            serve_asgi(app_factory=app) as agent_url,
            caller.start_as_current_span(
                "a2a message/send",
                kind=SpanKind.CLIENT,
                attributes={
                    "nasiko.agent": "llm-agent",
                    "nasiko.user.id": "user-1",
                    "nasiko.session.id": "ctx-1",
                },
            ) as call_span,
        ):
            headers: dict[str, str] = {}
            inject(headers)
            resp = httpx.post(
                agent_url + "/",
                headers=headers,
                timeout=30,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "message/send",
                    "params": {
                        "message": {
                            "role": "user",
                            "messageId": "m1",
                            "parts": [{"kind": "text", "text": question}],
                        }
                    },
                },
            )
            trace_id = format(call_span.get_span_context().trace_id, "032x")
        assert resp.status_code == 200 and "FAKE-LLM" in resp.text, resp.text
        assert len(llm.requests) == 1

    assert agent_provider.force_flush(10_000) and platform_provider.force_flush(10_000)
    agent_provider.shutdown()
    stack.call(stack.service.flush())

    tree = stack.call(stack.service.get_trace(trace_id, Visibility(all=True)))
    assert len(tree.roots) == 1
    gateway = tree.roots[0]
    assert gateway.name == "a2a message/send" and gateway.service_name == "nasiko"
    (server,) = gateway.children
    assert server.kind == "server" and server.name == "POST /" and server.agent == "llm-agent"
    (model_call,) = server.children
    expected_in = count_tokens(question)
    expected_out = count_tokens(f"FAKE-LLM({MODEL}): {question}")
    assert (model_call.model, model_call.input_tokens, model_call.output_tokens) == (
        MODEL,
        expected_in,
        expected_out,
    )
    price_in, price_out = stack.service.prices.price(MODEL)
    expected_cost = (expected_in * price_in + expected_out * price_out) / 1e6
    assert model_call.cost_usd == pytest.approx(expected_cost)
    assert tree.summary.user_id == "user-1" and tree.summary.session_id == "ctx-1"

    (row,) = stack.call(stack.service.summary(Visibility(all=True)))
    assert (row.agent, row.calls, row.errors) == ("llm-agent", 1, 0)
    assert (row.input_tokens, row.output_tokens) == (expected_in, expected_out)
    assert row.cost_usd == pytest.approx(expected_cost)
    platform_provider.shutdown()


async def _setup(stack: TraceStack) -> TracerProvider:
    return setup_tracing(stack.services, set_global=False)
