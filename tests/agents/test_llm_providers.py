"""The provider layer against the fake model server, and the spans it leaves for tracing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_harness import load_agent_module
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

llm = load_agent_module("translator", "llm")


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The module's tracer points at this provider; the process-wide one stays untouched so
    # other tests' tracing is not captured here (or lost).
    original = llm._tracer
    llm._tracer = provider.get_tracer("nasiko.sample_agent.llm")
    yield exporter
    llm._tracer = original


@pytest.mark.parametrize(
    ("provider", "system"),
    [("openai", "openai"), ("anthropic", "anthropic"), ("gemini", "gcp.gemini")],
)
async def test_streams_and_records_token_usage(fake_llm, spans, provider: str, system: str) -> None:
    fake_llm.responder = lambda request: "one two three four five six seven"
    fake_llm.chunk_size = 4
    config = llm.config_from_env(fake_llm.env(provider, model=f"{provider}-small"))
    assert config.provider == provider
    spans.clear()
    chunks = [c async for c in llm.ChatModel(config).stream("be brief", "count to seven please")]
    assert len(chunks) > 3 and "".join(chunks) == "one two three four five six seven"
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes)
    assert attrs["gen_ai.system"] == system and attrs["gen_ai.request.model"] == f"{provider}-small"
    assert attrs["gen_ai.usage.input_tokens"] == 6  # "be brief" + "count to seven please"
    assert attrs["gen_ai.usage.output_tokens"] == 7
    sent = fake_llm.requests[-1]
    assert (sent.api, sent.system, sent.user) == (provider, "be brief", "count to seven please")


async def test_provider_errors_are_model_errors(fake_llm) -> None:
    fake_llm.fail_with = (429, "Rate limit reached for requests")
    model = llm.ChatModel(llm.config_from_env(fake_llm.env("openai")))
    with pytest.raises(llm.ModelError, match=r"openai returned HTTP 429 .*Rate limit reached"):
        await model.complete("s", "u")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"ANTHROPIC_API_KEY": "k"}, ("anthropic", "claude-3-5-haiku-latest")),
        (
            {"GOOGLE_API_KEY": "k", "ANTHROPIC_API_KEY": "k"},
            ("anthropic", "claude-3-5-haiku-latest"),
        ),
        (
            {"GOOGLE_API_KEY": "k", "LLM_PROVIDER": "google", "LLM_MODEL": "gemini-x"},
            ("gemini", "gemini-x"),
        ),
        (
            {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_MODEL": "llama3"},
            ("openai", "llama3"),
        ),
        ({"LLM_PROVIDER": "anthropic"}, None),  # chosen but no key: degrade, do not crash
    ],
)
def test_provider_selection(env: dict[str, str], expected: tuple[str, str] | None) -> None:
    config = llm.config_from_env(env)
    assert (config and (config.provider, config.model)) == expected
