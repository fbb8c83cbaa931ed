from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from routing_cards import SAMPLE_CARDS

from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.index import RouterIndex
from nasiko.core.routing.rerank import LLMReranker
from nasiko.testing.fake_llm import ChatRequest, FakeLLM

QUERY = "book me a flight to Rome and a table for dinner when I land"


def _shortlist_ids(request: ChatRequest) -> list[str]:
    return [agent["id"] for agent in json.loads(request.user)["agents"]]


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def _index(embedder: Embedder, llm: FakeLLM, *, timeout: float = 2.0) -> RouterIndex:
    reranker = LLMReranker(llm.openai_base_url, model="router-model", api_key="k", timeout=timeout)
    idx = RouterIndex(embedder, reranker=reranker)
    for agent_id, agent_card in SAMPLE_CARDS.items():
        idx.upsert(agent_id, agent_card)
    return idx


def test_llm_reorders_the_shortlist(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm)
    hybrid = idx.route(QUERY, rerank=False)
    assert hybrid.best is not None
    # The fake model puts the hybrid's last shortlisted agent first.
    llm.responder = lambda r: json.dumps({"ranked": list(reversed(_shortlist_ids(r)))})
    result = idx.route(QUERY, top_k=2)
    assert result.reason.startswith("llm")
    sent = llm.requests[-1]
    assert sent.model == "router-model"
    assert sent.headers["authorization"] == "Bearer k"
    schema = sent.body["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True
    ids = _shortlist_ids(sent)
    assert ids[0] == hybrid.best.agent_id
    assert [c.agent_id for c in result.candidates] == list(reversed(ids))[:2]


def test_llm_may_say_nothing_fits(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm)
    llm.responder = lambda r: json.dumps({"ranked": []})
    result = idx.route(QUERY)
    assert result.no_match and result.reason.startswith("no_match")


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! The best agent is flights.",  # not JSON
        json.dumps({"ranked": ["no-such-agent"]}),  # outside the shortlist
        json.dumps({"ranked": ["flights", "flights"]}),  # repeats
        json.dumps({"order": ["flights"]}),  # wrong shape
    ],
)
def test_malformed_answer_falls_back_to_hybrid(
    embedder: Embedder, llm: FakeLLM, reply: str
) -> None:
    idx = _index(embedder, llm)
    hybrid = idx.route(QUERY, rerank=False)
    llm.responder = lambda r: reply
    result = idx.route(QUERY)
    assert len(llm.requests) == 1
    assert result.reason == "hybrid"
    assert result.candidates == hybrid.candidates


def test_http_error_falls_back_to_hybrid(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm)
    llm.fail_with = (500, "overloaded")
    result = idx.route(QUERY)
    assert len(llm.requests) == 1
    assert result.reason == "hybrid" and not result.no_match


def test_timeout_falls_back_to_hybrid(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm, timeout=0.3)

    def slow(request: ChatRequest) -> str:
        time.sleep(1.5)
        return json.dumps({"ranked": list(reversed(_shortlist_ids(request)))})

    llm.responder = slow
    hybrid = idx.route(QUERY, rerank=False)
    result = idx.route(QUERY)
    assert result.reason == "hybrid"
    assert result.candidates == hybrid.candidates


async def test_async_route_uses_the_llm_and_falls_back(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm, timeout=0.3)
    llm.responder = lambda r: json.dumps({"ranked": list(reversed(_shortlist_ids(r)))})
    result = await idx.aroute(QUERY, top_k=1)
    assert result.reason.startswith("llm")
    assert result.candidates[0].agent_id == _shortlist_ids(llm.requests[-1])[-1]
    llm.responder = lambda r: "not json"
    result = await idx.aroute(QUERY, top_k=1)
    assert result.reason == "hybrid"


def test_no_llm_call_for_unrelated_or_sticky_requests(embedder: Embedder, llm: FakeLLM) -> None:
    idx = _index(embedder, llm)
    assert idx.route("how do I knit a scarf?").no_match
    assert idx.route("yes, for four people", sticky_agent_id="restaurants").best is not None
    assert llm.requests == []
