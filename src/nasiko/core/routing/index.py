"""The hybrid router index: dense (MiniLM) + lexical (BM25F), updated one agent at a time.

Scoring, for a request q and an agent a with skills s:

    dense(a)   = w_skill * max_s cos(q, s) + w_agent * cos(q, a)
    lexical(a) = BM25F(q, a) / (the best BM25F score the query's terms could reach)
    score(a)   = dense(a) + w_lex * lexical(a)

Skill vectors embed "agent name: description. skill name: skill description" so a terse skill
still carries its agent's context; each skill example is one more row of the same skill. The
score is on an absolute scale (cosines plus a 0..1 coverage), which is what lets one threshold
mean "no agent fits" across indexes of any size.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasiko.core.routing.decision import decide
from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.lexical import LexicalIndex
from nasiko.core.routing.matrix import VectorMatrix
from nasiko.core.routing.models import (
    AgentDoc,
    RouteCandidate,
    RouteResult,
    agent_text,
    lexical_fields,
    parse_card,
    skill_text,
)
from nasiko.core.routing.rerank import LLMReranker, ShortlistItem
from nasiko.errors import InvalidCard, InvalidInput, NotFound

Allowed = Callable[[str], bool] | Collection[str] | None

# Calibrated on the development set against a hand-written set of unrelated requests
# (offtopic.jsonl): 99% of in-domain requests score above 0.22, 95% of unrelated ones below.
DEFAULT_THRESHOLD = 0.22


@dataclass(frozen=True)
class RouterConfig:
    skill_weight: float = 0.5
    agent_weight: float = 0.5
    lexical_weight: float = 0.25
    threshold: float = DEFAULT_THRESHOLD
    # A follow-up stays with the session's agent unless another agent beats it by this much
    # and scores this much above the threshold: a clear change of topic.
    sticky_margin: float = 0.1
    # How many hybrid candidates the LLM re-ranker gets to see.
    shortlist: int = 8
    # Above this many agents, skill rows are scored only for the `prefilter` best agents.
    exact_below: int = 2000
    prefilter: int = 300


def _allowed_fn(allowed: Allowed) -> Callable[[str], bool] | None:
    if allowed is None or callable(allowed):
        return allowed
    members = allowed if isinstance(allowed, set | frozenset) else frozenset(allowed)
    return members.__contains__


class RouterIndex:
    """Ranks indexed agents for a request. Thread-safe; embeds outside its lock."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        config: RouterConfig | None = None,
        reranker: LLMReranker | None = None,
    ) -> None:
        self.embedder = embedder or Embedder()
        self.config = config or RouterConfig()
        self.reranker = reranker
        self._lock = threading.RLock()
        self._lexical = LexicalIndex()
        self._agents = VectorMatrix()
        self._rows = VectorMatrix()  # one row per skill text and per skill example
        self._row_owner = np.zeros(0, dtype=np.int64)  # agent slot per row; dead rows -> sink
        self._row_skill = np.zeros(0, dtype=np.int32)  # index into AgentDoc.skills
        self._slot_of: dict[str, int] = {}
        self._id_of: dict[int, str] = {}
        self._doc_of: dict[int, AgentDoc] = {}
        self._rows_of: dict[int, list[int]] = {}
        self._texts_of: dict[int, tuple[str, list[str]]] = {}
        self._active = np.zeros(0, dtype=bool)

    # -- index maintenance -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._slot_of

    def agent_ids(self) -> list[str]:
        with self._lock:
            return list(self._slot_of)

    def upsert(self, agent_id: str, card: Mapping[str, Any]) -> None:
        """Add or replace one agent. Only texts that changed are embedded again."""
        self.upsert_many([(agent_id, card)])

    def upsert_many(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Add or replace several agents with one batched embedding call (initial loads).

        Every card is validated before anything changes; InvalidCard names the agent.
        """
        prepared: list[tuple[str, AgentDoc, list[str], list[tuple[str, int]]]] = []
        for agent_id, card in items:
            try:
                doc = parse_card(card)
            except InvalidCard as exc:
                raise InvalidCard(
                    f"agent {agent_id!r}: {exc.message}",
                    details={"agent_id": agent_id, **(exc.details or {})},
                ) from exc
            row_specs: list[tuple[str, int]] = []
            for i, skill in enumerate(doc.skills):
                row_specs.append((skill_text(doc, skill), i))
                row_specs.extend((example, i) for example in skill.examples)
            texts = [agent_text(doc), *(text for text, _ in row_specs)]
            prepared.append((agent_id, doc, texts, row_specs))
        known: dict[str, np.ndarray] = {}
        with self._lock:
            for agent_id, _, _, _ in prepared:
                known.update(self._current_vectors_locked(agent_id))
        missing = sorted({t for _, _, texts, _ in prepared for t in texts} - known.keys())
        if missing:
            known.update(zip(missing, self.embedder.embed(missing), strict=True))
        with self._lock:
            for agent_id, doc, texts, row_specs in prepared:
                vectors = {t: known[t] for t in texts}
                self._insert_locked(agent_id, doc, vectors, texts[0], row_specs)

    def _current_vectors_locked(self, agent_id: str) -> dict[str, np.ndarray]:
        """The indexed agent's texts and their vectors, copied out of the matrices."""
        slot = self._slot_of.get(agent_id)
        if slot is None:
            return {}
        passage, row_texts = self._texts_of[slot]
        vectors = {passage: self._agents.vecs[slot].copy()}
        for text, row in zip(row_texts, self._rows_of[slot], strict=True):
            vectors[text] = self._rows.vecs[row].copy()
        return vectors

    def _insert_locked(
        self,
        agent_id: str,
        doc: AgentDoc,
        vectors: dict[str, np.ndarray],
        passage: str,
        row_specs: list[tuple[str, int]],
    ) -> None:
        self._remove_locked(agent_id)
        slot = self._agents.take()
        self._agents.vecs[slot] = vectors[passage]
        self._ensure_slot_arrays()
        self._active[slot] = True
        rows = []
        for text, skill_index in row_specs:
            row = self._rows.take()
            self._ensure_row_arrays()
            self._rows.vecs[row] = vectors[text]
            self._row_owner[row] = slot
            self._row_skill[row] = skill_index
            rows.append(row)
        self._slot_of[agent_id] = slot
        self._id_of[slot] = agent_id
        self._doc_of[slot] = doc
        self._rows_of[slot] = rows
        # Texts only: vectors live in the matrices, so a batch's embedding output is not kept.
        self._texts_of[slot] = (passage, [text for text, _ in row_specs])
        self._lexical.upsert(slot, lexical_fields(doc))

    def remove(self, agent_id: str) -> None:
        """Forget one agent; raises NotFound if it was never indexed."""
        with self._lock:
            if agent_id not in self._slot_of:
                raise NotFound(f"agent {agent_id!r} is not in the router index")
            self._remove_locked(agent_id)

    def discard(self, agent_id: str) -> None:
        """Like remove(), but quiet when the agent is not indexed (for event replays)."""
        with self._lock:
            self._remove_locked(agent_id)

    def _remove_locked(self, agent_id: str) -> None:
        slot = self._slot_of.pop(agent_id, None)
        if slot is None:
            return
        sink = len(self._active)
        for row in self._rows_of.pop(slot):
            self._rows.release(row)
            self._row_owner[row] = sink
        self._agents.release(slot)
        self._active[slot] = False
        self._lexical.remove(slot)
        del self._id_of[slot], self._doc_of[slot], self._texts_of[slot]

    def _ensure_slot_arrays(self) -> None:
        capacity = len(self._agents.vecs)
        if len(self._active) < capacity:
            old_sink = len(self._active)
            active = np.zeros(capacity, dtype=bool)
            active[:old_sink] = self._active
            self._active = active
            # Dead rows point one past the last slot; move them to the new sink.
            self._row_owner[self._row_owner == old_sink] = capacity

    def _ensure_row_arrays(self) -> None:
        capacity = len(self._rows.vecs)
        if len(self._row_owner) < capacity:
            owner = np.full(capacity, len(self._active), dtype=np.int64)
            owner[: len(self._row_owner)] = self._row_owner
            skill = np.zeros(capacity, dtype=np.int32)
            skill[: len(self._row_skill)] = self._row_skill
            self._row_owner, self._row_skill = owner, skill

    def memory_bytes(self) -> int:
        """Bytes held by the vector matrices and per-row arrays (not Python bookkeeping)."""
        with self._lock:
            return (
                self._agents.nbytes
                + self._rows.nbytes
                + self._row_owner.nbytes
                + self._row_skill.nbytes
                + self._active.nbytes
            )

    # -- ranking -------------------------------------------------------------------------------

    def scores(self, query: str) -> dict[str, float]:
        """The exact fused score of every indexed agent (for evaluation and debugging)."""
        vector = self.embedder.embed_query(query)
        with self._lock:
            fused, _ = self._score_locked(query, vector, exact=True)
            return {agent_id: float(fused[slot]) for agent_id, slot in self._slot_of.items()}

    def _score_locked(
        self, query: str, vector: np.ndarray, *, exact: bool = False, include: Iterable[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fused scores over slots (-inf where not scored) and similarities over skill rows.

        Small indexes are scored exactly. Past ``config.exact_below`` agents, the skill rows
        are only scored for the best ``config.prefilter`` agents by agent passage and lexical
        score (plus ``include``): the passage already names every skill, so the right agent is
        in that set, and the per-query work stops growing with the number of skills.
        """
        cfg = self.config
        n_slots, n_rows = self._agents.size, self._rows.size
        active = self._active[:n_slots]
        agent_sim = self._agents.vecs[:n_slots] @ vector
        lexical, ceiling = self._lexical.score(query, n_slots)
        if ceiling > 0:
            lexical /= ceiling
        base = cfg.agent_weight * agent_sim + cfg.lexical_weight * lexical
        n_active = len(self._slot_of)
        if exact or n_active <= max(cfg.exact_below, cfg.prefilter):
            rows = None
            row_sim = self._rows.vecs[:n_rows] @ vector
            owners = self._row_owner[:n_rows]
            scored = active
        else:
            pre = np.where(active, base + cfg.skill_weight * agent_sim, -np.inf)
            chosen = np.argpartition(-pre, cfg.prefilter - 1)[: cfg.prefilter]
            chosen = np.union1d(chosen, np.fromiter(include, dtype=np.int64))
            rows = np.fromiter(
                itertools.chain.from_iterable(self._rows_of[int(slot)] for slot in chosen),
                dtype=np.int64,
            )
            row_sim = np.full(n_rows, -2.0, dtype=np.float32)
            row_sim[rows] = self._rows.vecs[rows] @ vector
            owners = self._row_owner[rows]
            scored = np.zeros(n_slots, dtype=bool)
            scored[chosen] = True
        best = np.full(len(self._active) + 1, -2.0, dtype=np.float32)
        np.maximum.at(best, owners, row_sim if rows is None else row_sim[rows])
        skill_sim = best[:n_slots]
        # Agents without skills are judged on their own passage alone.
        skill_sim = np.where(skill_sim < -1.5, agent_sim, skill_sim)
        fused = base + cfg.skill_weight * skill_sim
        return np.where(scored, fused, -np.inf).astype(np.float32), row_sim

    def _candidate(self, slot: int, score: float, row_sim: np.ndarray) -> RouteCandidate:
        doc = self._doc_of[slot]
        skill_id = skill_name = None
        rows = self._rows_of[slot]
        if rows:
            top_row = max(rows, key=lambda r: row_sim[r])
            skill = doc.skills[int(self._row_skill[top_row])]
            skill_id, skill_name = skill.id, skill.name
        return RouteCandidate(
            agent_id=self._id_of[slot],
            name=doc.name,
            score=round(float(score), 6),
            skill_id=skill_id,
            skill_name=skill_name,
        )

    def _rank_locked(
        self,
        query: str,
        vector: np.ndarray,
        limit: int,
        allowed: Callable[[str], bool] | None,
        sticky_slot: int | None,
    ) -> list[RouteCandidate]:
        include = () if sticky_slot is None else (sticky_slot,)
        cfg = self.config
        two_stage = len(self._slot_of) > max(cfg.exact_below, cfg.prefilter)
        for exact in (False, True) if two_stage else (True,):
            fused, row_sim = self._score_locked(query, vector, exact=exact, include=include)
            out = self._top_allowed(fused, row_sim, limit, allowed)
            if len(out) == limit or len(out) == len(self._slot_of):
                break
            # The filter hid most of the prefiltered agents: score everything and look again.
        if sticky_slot is not None and all(c.agent_id != self._id_of[sticky_slot] for c in out):
            # Stickiness needs the session agent's score even when it ranks low.
            out.append(self._candidate(sticky_slot, float(fused[sticky_slot]), row_sim))
        return out

    def _top_allowed(
        self,
        fused: np.ndarray,
        row_sim: np.ndarray,
        limit: int,
        allowed: Callable[[str], bool] | None,
    ) -> list[RouteCandidate]:
        n_slots = len(fused)
        if n_slots == 0:
            return []
        # Sort a generous prefix first; sort everything only when the filter hides most of it.
        prefix = min(n_slots, max(4 * limit, 32))
        order = np.argpartition(-fused, prefix - 1)[:prefix] if prefix < n_slots else None
        while True:
            if order is not None:
                ranked = order[np.argsort(-fused[order], kind="stable")]
            else:
                ranked = np.argsort(-fused, kind="stable")
            out: list[RouteCandidate] = []
            for slot in ranked:
                score = fused[slot]
                if not np.isfinite(score):
                    break
                agent_id = self._id_of[int(slot)]
                if allowed is not None and not allowed(agent_id):
                    continue
                out.append(self._candidate(int(slot), float(score), row_sim))
                if len(out) == limit:
                    return out
            if order is None:
                return out
            order = None

    def _shortlist(self, candidates: list[RouteCandidate]) -> list[ShortlistItem]:
        with self._lock:
            items = []
            for c in candidates:
                slot = self._slot_of.get(c.agent_id)
                if slot is None:
                    continue
                doc = self._doc_of[slot]
                skills = [f"{s.name}: {s.description}".rstrip(": ") for s in doc.skills]
                items.append(ShortlistItem(c.agent_id, doc.name, doc.description, skills))
            return items

    def _prepare(
        self,
        query: str,
        *,
        top_k: int,
        allowed: Allowed,
        sticky_agent_id: str | None,
        rerank: bool,
    ) -> tuple[list[RouteCandidate], Callable[[str], bool] | None]:
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("the query must be a non-empty string", details={"path": "query"})
        if top_k < 1:
            raise InvalidInput("top_k must be at least 1", details={"path": "top_k"})
        allowed_fn = _allowed_fn(allowed)
        vector = self.embedder.embed_query(query)
        limit = max(top_k, self.config.shortlist) if rerank and self.reranker else top_k
        with self._lock:
            sticky_slot = self._slot_of.get(sticky_agent_id) if sticky_agent_id else None
            if sticky_slot is not None and allowed_fn is not None:
                sticky_slot = sticky_slot if allowed_fn(sticky_agent_id or "") else None
            ranked = self._rank_locked(query, vector, limit, allowed_fn, sticky_slot)
        return ranked, allowed_fn

    def _needs_llm(self, ranked: list[RouteCandidate], sticky_agent_id: str | None) -> bool:
        # Only ask the LLM when the hybrid ranking found something worth ordering and the
        # session is not simply continuing with its agent.
        if self.reranker is None or not ranked or sticky_agent_id in {c.agent_id for c in ranked}:
            return False
        return ranked[0].score >= self.config.threshold

    def route(
        self,
        query: str,
        *,
        top_k: int = 3,
        allowed: Allowed = None,
        sticky_agent_id: str | None = None,
        rerank: bool = True,
    ) -> RouteResult:
        """Rank the agents the caller may use for ``query``.

        ``allowed`` is a predicate or a collection of agent ids; agents outside it are never
        returned. ``sticky_agent_id`` is the agent already in the conversation. ``rerank``
        lets a caller skip the LLM re-ranker (when one is configured) for this call.
        """
        ranked, _ = self._prepare(
            query, top_k=top_k, allowed=allowed, sticky_agent_id=sticky_agent_id, rerank=rerank
        )
        llm_order = None
        if rerank and self.reranker and self._needs_llm(ranked, sticky_agent_id):
            llm_order = self.reranker.rerank(query, self._shortlist(ranked))
        return decide(
            query,
            ranked,
            top_k=top_k,
            threshold=self.config.threshold,
            sticky_margin=self.config.sticky_margin,
            sticky_agent_id=sticky_agent_id,
            llm_order=llm_order,
        )

    async def aroute(
        self,
        query: str,
        *,
        top_k: int = 3,
        allowed: Allowed = None,
        sticky_agent_id: str | None = None,
        rerank: bool = True,
    ) -> RouteResult:
        """route() for async callers: the LLM call (if any) does not block the event loop."""
        ranked, _ = self._prepare(
            query, top_k=top_k, allowed=allowed, sticky_agent_id=sticky_agent_id, rerank=rerank
        )
        llm_order = None
        if rerank and self.reranker and self._needs_llm(ranked, sticky_agent_id):
            llm_order = await self.reranker.arerank(query, self._shortlist(ranked))
        return decide(
            query,
            ranked,
            top_k=top_k,
            threshold=self.config.threshold,
            sticky_margin=self.config.sticky_margin,
            sticky_agent_id=sticky_agent_id,
            llm_order=llm_order,
        )
