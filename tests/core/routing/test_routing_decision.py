from __future__ import annotations

from nasiko.core.routing.decision import decide
from nasiko.core.routing.models import RouteCandidate


def _c(agent_id: str, score: float) -> RouteCandidate:
    return RouteCandidate(agent_id=agent_id, name=agent_id.title(), score=score)


def _decide(ranked: list[RouteCandidate], **kw: object) -> tuple[list[str], bool, str]:
    result = decide("q", ranked, top_k=3, threshold=0.22, sticky_margin=0.1, **kw)  # type: ignore[arg-type]
    return [c.agent_id for c in result.candidates], result.no_match, result.reason


def test_threshold_decides_no_match() -> None:
    assert _decide([_c("a", 0.5), _c("b", 0.3)])[:2] == (["a", "b"], False)
    ids, no_match, reason = _decide([_c("a", 0.21), _c("b", 0.1)])
    assert no_match and reason.startswith("no_match") and ids == ["a", "b"]
    assert _decide([])[1] is True


def test_weak_rival_does_not_take_over_a_session() -> None:
    ids, no_match, reason = _decide([_c("food", 0.28), _c("s", 0.17)], sticky_agent_id="s")
    assert ids[0] == "s" and not no_match and reason.startswith("sticky")
    # Even a follow-up that matches nothing stays with the session's agent.
    assert _decide([_c("x", 0.05), _c("s", 0.02)], sticky_agent_id="s")[:2] == (["s", "x"], False)


def test_clear_topic_change_switches_agent() -> None:
    ids, no_match, reason = _decide([_c("tr", 0.6), _c("s", 0.2)], sticky_agent_id="s")
    assert ids == ["tr"] and not no_match and reason == "hybrid"


def test_llm_order_and_empty_llm_answer() -> None:
    ranked = [_c("a", 0.5), _c("b", 0.4), _c("c", 0.3)]
    assert _decide(ranked, llm_order=["c", "a"])[0] == ["c", "a"]
    assert _decide(ranked, llm_order=[])[1] is True
