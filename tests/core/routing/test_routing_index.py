from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from routing_cards import SAMPLE_CARDS, card

from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.index import RouterIndex
from nasiko.errors import InvalidCard, InvalidInput, NotFound


class CountingEmbedder(Embedder):
    """The real embedder, recording which texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__()
        self._inner = inner
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self._inner.embed(texts)


@pytest.fixture
def index(embedder: Embedder) -> RouterIndex:
    idx = RouterIndex(embedder)
    for agent_id, agent_card in SAMPLE_CARDS.items():
        idx.upsert(agent_id, agent_card)
    return idx


def test_routes_to_the_right_agent_and_skill(index: RouterIndex) -> None:
    result = index.route("will it rain in Oslo on Saturday?")
    assert not result.no_match
    assert result.best is not None
    assert result.best.agent_id == "weather"
    assert result.best.name == "Weather Oracle"
    result = index.route("please book a table for four at an Italian place tonight")
    assert result.best is not None and result.best.agent_id == "restaurants"
    assert result.best.skill_id == "reserve-table"
    result = index.route("look for return flights from Madrid to Rome")
    assert result.best is not None and result.best.skill_name == "Search Flights"
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len(result.candidates) == 3


def test_update_reembeds_only_what_changed(embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    idx = RouterIndex(counting)
    idx.upsert_many(SAMPLE_CARDS.items())
    assert len(idx) == len(SAMPLE_CARDS)
    assert len(counting.seen) == len(set(counting.seen))  # one batched call, no repeats
    counting.seen.clear()
    changed = card(
        "Table Finder",
        "Find restaurants and reserve a table",
        ("Find Restaurants", "Search restaurants by cuisine and area", ["food"]),
        ("Order Delivery", "Have a meal from a restaurant delivered home", ["food"]),
    )
    idx.upsert("restaurants", changed)
    # The agent passage and the new skill changed; the unchanged skill and others were not
    # embedded again.
    assert len(counting.seen) == 2
    assert all("Weather" not in t and "Sky Booker" not in t for t in counting.seen)
    result = idx.route("get a pizza delivered to my flat")
    assert result.best is not None
    assert (result.best.agent_id, result.best.skill_id) == ("restaurants", "order-delivery")
    counting.seen.clear()
    idx.upsert("restaurants", changed)  # same card again: nothing to embed
    assert counting.seen == []
    assert len(idx) == len(SAMPLE_CARDS)


def test_remove_forgets_the_agent(index: RouterIndex) -> None:
    index.remove("weather")
    assert "weather" not in index
    result = index.route("what's the weather forecast for Berlin", top_k=10)
    assert all(c.agent_id != "weather" for c in result.candidates)
    with pytest.raises(NotFound):
        index.remove("weather")
    index.discard("weather")
    # The freed slot is reused and the new agent is found.
    index.upsert("weather2", SAMPLE_CARDS["weather"])
    best = index.route("what's the weather forecast for Berlin").best
    assert best is not None and best.agent_id == "weather2"


def test_index_grows_past_its_initial_capacity(embedder: Embedder) -> None:
    idx = RouterIndex(embedder)
    for i in range(150):
        idx.upsert(f"filler-{i}", card(f"Filler {i}", f"Generic helper number {i}"))
    for agent_id, agent_card in SAMPLE_CARDS.items():
        idx.upsert(agent_id, agent_card)
    for i in range(0, 150, 2):
        idx.remove(f"filler-{i}")
    best = idx.route("translate this paragraph into German").best
    assert best is not None and best.agent_id == "translator"
    assert len(idx) == 75 + len(SAMPLE_CARDS)
    assert idx.memory_bytes() > 0


@pytest.mark.parametrize("as_predicate", [True, False])
def test_never_returns_a_disallowed_agent(index: RouterIndex, as_predicate: bool) -> None:
    visible = {"translator", "github"}
    allowed = visible.__contains__ if as_predicate else visible
    for query in [
        "will it rain tomorrow?",
        "book a flight to Tokyo",
        "translate 'good morning' into Spanish",
        "list the open issues in my repo",
    ]:
        result = index.route(query, top_k=5, allowed=allowed)
        assert {c.agent_id for c in result.candidates} <= visible
    # The best agent for this request is hidden; the caller must not learn it exists.
    result = index.route("will it rain tomorrow?", top_k=5, allowed=allowed)
    assert all(c.agent_id != "weather" for c in result.candidates)
    assert index.route("anything", allowed=set()).candidates == []


def test_filter_deep_in_a_large_index(embedder: Embedder) -> None:
    idx = RouterIndex(embedder)
    for i in range(60):
        idx.upsert(f"w{i}", card(f"Weather {i}", "Weather forecasts", ("Forecast", "rain", [])))
    idx.upsert("translator", SAMPLE_CARDS["translator"])
    result = idx.route("weather forecast please", top_k=3, allowed={"translator"})
    assert [c.agent_id for c in result.candidates] == ["translator"]


def test_no_match_on_unrelated_requests(index: RouterIndex) -> None:
    for query in [
        "zxqv blorptang frimble",
        "how do I knit a scarf?",
        "what is the derivative of x squared?",
    ]:
        result = index.route(query)
        assert result.no_match, query
        assert result.best is None
        assert result.reason.startswith("no_match")


def test_sticky_agent_keeps_follow_ups(index: RouterIndex) -> None:
    # A terse follow-up matches nothing by itself; the session's agent keeps it.
    follow_up = "yes, make it for four people at 8pm"
    result = index.route(follow_up, sticky_agent_id="restaurants")
    assert not result.no_match
    assert result.best is not None and result.best.agent_id == "restaurants"
    assert result.reason.startswith("sticky")
    # Same agent family, slightly better elsewhere: still sticky.
    result = index.route("and is there a window seat on that flight?", sticky_agent_id="flights")
    assert result.best is not None and result.best.agent_id == "flights"


def test_clear_topic_change_leaves_the_sticky_agent(index: RouterIndex) -> None:
    result = index.route(
        "translate this sentence into French: where is the train station",
        sticky_agent_id="weather",
    )
    assert result.best is not None and result.best.agent_id == "translator"
    assert not result.reason.startswith("sticky")


def test_sticky_agent_must_be_allowed(index: RouterIndex) -> None:
    result = index.route(
        "yes, for four people please", sticky_agent_id="restaurants", allowed={"weather"}
    )
    assert all(c.agent_id == "weather" for c in result.candidates)


def test_rejects_bad_cards_and_queries(index: RouterIndex) -> None:
    with pytest.raises(InvalidCard) as info:
        index.upsert("bad", {"description": "no name"})
    assert info.value.details == {"agent_id": "bad", "path": "$.name"}
    with pytest.raises(InvalidCard) as info:
        index.upsert("bad", {"name": "x", "skills": [{"name": "s", "tags": "not-a-list"}]})
    assert info.value.details == {"agent_id": "bad", "path": "$.skills[0].tags"}
    assert "bad" not in index
    # A batch is validated as a whole before anything changes.
    with pytest.raises(InvalidCard):
        index.upsert_many([("fine", SAMPLE_CARDS["weather"]), ("bad", {"name": ""})])
    assert "fine" not in index and "bad" not in index
    with pytest.raises(InvalidInput):
        index.route("   ")
    with pytest.raises(InvalidInput):
        index.route("weather", top_k=0)


def test_examples_and_skill_less_cards_are_searchable(embedder: Embedder) -> None:
    idx = RouterIndex(embedder)
    idx.upsert("bare", {"name": "Poet", "description": "Writes short poems on request"})
    with_examples = card("Helper", "General helper", ("Plants", "Care advice", []))
    with_examples["skills"][0]["examples"] = ["my fern leaves are turning brown, what do I do?"]
    idx.upsert("plants", with_examples)
    best = idx.route("write me a little poem about the sea").best
    assert best is not None and best.agent_id == "bare" and best.skill_id is None
    best = idx.route("why are the leaves of my fern going brown").best
    assert best is not None and best.agent_id == "plants" and best.skill_id == "plants"


def test_prefiltered_scoring_matches_exact_scoring(embedder: Embedder) -> None:
    from nasiko.core.routing.index import RouterConfig

    cards = dict(SAMPLE_CARDS)
    for i in range(40):
        cards[f"filler-{i}"] = card(
            f"Helper {i}", f"Assistant number {i} for odd jobs", ("Chores", f"task {i}", [])
        )
    prefiltered = RouterIndex(embedder, config=RouterConfig(exact_below=0, prefilter=6))
    prefiltered.upsert_many(cards.items())
    for query in [
        "book a flight to Rome",
        "translate this into Italian",
        "will it snow tomorrow?",
        "open issues in my repository",
    ]:
        exact = prefiltered.scores(query)
        expected = sorted(exact, key=lambda a: -exact[a])[:3]
        result = prefiltered.route(query, top_k=3)
        assert [c.agent_id for c in result.candidates] == expected
        assert [c.score for c in result.candidates] == pytest.approx(
            [exact[a] for a in expected], abs=1e-5
        )
    # An allowed agent outside the prefiltered set is still found.
    result = prefiltered.route("book a flight to Rome", top_k=2, allowed={"filler-7"})
    assert [c.agent_id for c in result.candidates] == ["filler-7"]
    # So is the session's agent, for stickiness.
    result = prefiltered.route("and for two people", sticky_agent_id="filler-3")
    assert result.best is not None and result.best.agent_id == "filler-3"
