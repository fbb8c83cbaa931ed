"""The last step of routing: stickiness, the LLM's order and the "no agent fits" threshold."""

from __future__ import annotations

from nasiko.core.routing.models import RouteCandidate, RouteResult


def decide(
    query: str,
    ranked: list[RouteCandidate],
    *,
    top_k: int,
    threshold: float,
    sticky_margin: float,
    sticky_agent_id: str | None = None,
    llm_order: list[str] | None = None,
) -> RouteResult:
    """Turn a hybrid ranking (best first) into the router's answer.

    Order of precedence: the session's agent keeps the conversation unless another agent
    clearly wins (scores ``sticky_margin`` above the threshold and above the session's agent);
    then an LLM order,
    if one came back; then the threshold decides whether any agent fits at all.
    """
    sticky = next((c for c in ranked if c.agent_id == sticky_agent_id), None)
    others = [c for c in ranked if c.agent_id != sticky_agent_id]
    best_other = others[0] if others else None
    if sticky is not None:
        topic_changed = (
            best_other is not None
            # A clear change of topic: another agent is a confident match on its own, not just
            # past the "anything fits" bar, and well ahead of the session's agent.
            and best_other.score >= threshold + sticky_margin
            and best_other.score - sticky.score > sticky_margin
        )
        if not topic_changed:
            return RouteResult(
                query=query,
                candidates=[sticky, *others][:top_k],
                no_match=False,
                reason="sticky: the request continues the session's agent",
                threshold=threshold,
            )
        ranked = others
    if llm_order is not None:
        by_id = {c.agent_id: c for c in ranked}
        if not llm_order:
            return RouteResult(
                query=query,
                candidates=ranked[:top_k],
                no_match=True,
                reason="no_match: the LLM re-ranker found no agent that fits",
                threshold=threshold,
            )
        chosen = [by_id[i] for i in llm_order if i in by_id]
        return RouteResult(
            query=query,
            candidates=chosen[:top_k],
            no_match=False,
            reason="llm: re-ranked the hybrid shortlist",
            threshold=threshold,
        )
    ranked = ranked[:top_k]
    if not ranked or ranked[0].score < threshold:
        return RouteResult(
            query=query,
            candidates=ranked,
            no_match=True,
            reason="no_match: no agent scored above the threshold",
            threshold=threshold,
        )
    return RouteResult(
        query=query, candidates=ranked, no_match=False, reason="hybrid", threshold=threshold
    )
