from __future__ import annotations

import pytest

from nasiko.core.observability.prices import PriceTable, default_prices
from nasiko.core.observability.tree import build_tree
from nasiko.core.observability.usage import extract_usage
from nasiko.testing.otlp import new_trace_id, span


@pytest.mark.parametrize(
    ("attrs", "model", "tin", "tout"),
    [
        (  # OpenTelemetry GenAI; the response model wins over the requested one
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
            },
            "gpt-4o-2024-08-06",
            120,
            30,
        ),
        (  # older GenAI names
            {
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 7,
                "gen_ai.usage.completion_tokens": 3,
            },
            "gpt-4o-mini",
            7,
            3,
        ),
        (  # OpenInference
            {
                "llm.model_name": "claude-3-5-sonnet-20241022",
                "llm.token_count.prompt": 11,
                "llm.token_count.completion": 4,
                "llm.token_count.total": 15,
            },
            "claude-3-5-sonnet-20241022",
            11,
            4,
        ),
        (  # LangTrace's JSON counts
            {
                "llm.model": "gemini-1.5-flash",
                "llm.token.counts": '{"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}',
            },
            "gemini-1.5-flash",
            9,
            2,
        ),
        (  # OpenLLMetry, counts as strings
            {
                "llm.request.model": "gpt-3.5-turbo",
                "llm.usage.prompt_tokens": "5",
                "llm.usage.completion_tokens": "6",
            },
            "gpt-3.5-turbo",
            5,
            6,
        ),
        ({"http.method": "GET"}, None, None, None),
        ({"gen_ai.usage.input_tokens": -3, "gen_ai.usage.output_tokens": True}, None, None, None),
    ],
)
def test_extract_usage_conventions(
    attrs: dict[str, object], model: str | None, tin: int | None, tout: int | None
) -> None:
    usage = extract_usage(attrs)
    assert (usage.model, usage.input_tokens, usage.output_tokens) == (model, tin, tout)


def test_price_table_defaults_snapshots_prefixes_and_overrides() -> None:
    table = PriceTable.load()
    assert table.price("gpt-4o-mini") == default_prices()["gpt-4o-mini"]
    # Dated snapshots and provider prefixes find the base model; the longest key wins.
    assert table.price("gpt-4o-mini-2024-07-18") == table.price("gpt-4o-mini")
    assert table.price("openai/gpt-4o-2024-08-06") == table.price("gpt-4o")
    assert table.price("models/gemini-2.0-flash-001") == table.price("gemini-2.0-flash")
    assert table.price("claude-3-5-sonnet-20241022") == (3.0, 15.0)
    # A prefix match needs a separator: "gpt-4" does not price "gpt-4zz".
    assert table.price("gpt-4zz") is None
    assert table.cost("no-such-model", 10, 10) is None
    assert table.cost("gpt-4o-mini", None, None) is None
    assert table.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.15 + 0.60)

    custom = PriceTable.load({"gpt-4o-mini": (1.0, 2.0), "house-model": (0.5, 0.5)})
    assert custom.cost("gpt-4o-mini", 1000, 500) == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    assert custom.cost("house-model-v2", 2_000_000, 0) == pytest.approx(1.0)


def test_every_shipped_price_is_sane() -> None:
    prices = default_prices()
    assert len(prices) >= 20
    for model, (pin, pout) in prices.items():
        assert 0 < pin <= 100 and 0 <= pout <= 200, model


def test_tree_nests_children_and_keeps_orphans_as_roots() -> None:
    tid = new_trace_id()
    root = span(trace_id=tid, name="gateway", start_ns=1_000_000_000, duration_ms=50)
    child = span(trace_id=tid, parent=root.span_id, name="agent", start_ns=1_001_000_000)
    grandchild = span(trace_id=tid, parent=child.span_id, name="llm", start_ns=1_002_000_000)
    orphan = span(trace_id=tid, parent="ab" * 8, name="late", start_ns=1_003_000_000)
    tree = build_tree(tid, [grandchild, orphan, child, root])
    assert [r.name for r in tree.roots] == ["gateway", "late"]
    assert tree.roots[0].children[0].name == "agent"
    assert tree.roots[0].children[0].children[0].name == "llm"
    assert tree.summary.span_count == 4 and tree.summary.name == "gateway"
    assert tree.summary.duration_ms == pytest.approx(50.0)
