"""Agent routing: rank registered agents for a plain-language request.

    index = RouterIndex()                       # embedder loads lazily, once
    index.upsert("agent-1", card_dict)          # A2A v1.0 card; re-embeds only changed texts
    result = index.route("book me a table", top_k=3, allowed={"agent-1"}, sticky_agent_id=None)
    result.no_match, result.candidates[0].agent_id, result.candidates[0].skill_id

See README.md in this folder for the scoring and how to re-calibrate it.
"""

from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.index import DEFAULT_THRESHOLD, RouterConfig, RouterIndex
from nasiko.core.routing.models import RouteCandidate, RouteResult
from nasiko.core.routing.rerank import LLMReranker

__all__ = [
    "DEFAULT_THRESHOLD",
    "Embedder",
    "LLMReranker",
    "RouteCandidate",
    "RouteResult",
    "RouterConfig",
    "RouterIndex",
]
