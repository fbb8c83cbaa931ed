"""Field-weighted BM25 (a simplified BM25F) over agent cards, updated one agent at a time.

Each agent is one document made of fields (name, description, skill names, skill descriptions,
tags, examples). A term's frequency is summed over fields with per-field weights before BM25's
saturation, so a word in the agent's name counts more than the same word in a long description.
Documents live in integer slots owned by the caller; scores come back as a numpy vector over
slots, which the hybrid ranker fuses with dense scores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np

from nasiko.core.routing.stemmer import stem

FIELD_WEIGHTS: dict[str, float] = {
    "name": 2.0,
    "description": 1.5,
    "skill_name": 2.0,
    "skill_description": 1.0,
    "tags": 1.5,
    "examples": 0.7,
}

# Function words plus the filler of spoken requests ("could you please help me ..."); they say
# nothing about which agent is meant, and IDF alone does not push them to zero on small indexes.
_STOPWORDS_TEXT = """
    a about above after again all am an and any are as at be been before being below between
    both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just let
    me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own please same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also im ive id
    ill dont want wanted wants need needs needed like liked would could help hi hello hey thanks
    thank ok okay yes yeah sure something anything someone anyone get got go going one two three
    tell know think maybe really much many lot well just us
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case, split camelCase/snake_case, drop stopwords and bare numbers, stem."""
    text = _CAMEL.sub(" ", text).lower()
    out = []
    for word in _WORD.findall(text):
        if word in STOPWORDS or word.isdigit() or len(word) < 2:
            continue
        out.append(stem(word))
    return out


class LexicalIndex:
    """An incremental BM25F index over integer document slots."""

    def __init__(
        self,
        *,
        k1: float = 1.2,
        b: float = 0.5,
        field_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.field_weights = dict(field_weights or FIELD_WEIGHTS)
        self._postings: dict[str, dict[int, float]] = {}
        # Compiled (slots, weighted tf) arrays per term, rebuilt only when that term changes.
        self._compiled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doc_terms: dict[int, dict[str, float]] = {}
        self._doc_len = np.zeros(0, dtype=np.float32)
        self._total_len = 0.0

    def __len__(self) -> int:
        return len(self._doc_terms)

    def _ensure_capacity(self, slot: int) -> None:
        if slot >= len(self._doc_len):
            grown = np.zeros(max(slot + 1, 2 * len(self._doc_len), 64), dtype=np.float32)
            grown[: len(self._doc_len)] = self._doc_len
            self._doc_len = grown

    def upsert(self, slot: int, fields: Mapping[str, Iterable[str]]) -> None:
        """Index (or re-index) the document in ``slot`` from its texts per field."""
        self.remove(slot)
        weighted: dict[str, float] = {}
        for field, texts in fields.items():
            weight = self.field_weights.get(field, 1.0)
            for text in texts:
                for term in tokenize(text):
                    weighted[term] = weighted.get(term, 0.0) + weight
        self._ensure_capacity(slot)
        length = sum(weighted.values())
        self._doc_len[slot] = length
        self._total_len += length
        self._doc_terms[slot] = weighted
        for term, tf in weighted.items():
            self._postings.setdefault(term, {})[slot] = tf
            self._compiled.pop(term, None)

    def remove(self, slot: int) -> None:
        terms = self._doc_terms.pop(slot, None)
        if terms is None:
            return
        self._total_len -= float(self._doc_len[slot])
        self._doc_len[slot] = 0.0
        for term in terms:
            posting = self._postings[term]
            del posting[slot]
            if not posting:
                del self._postings[term]
            self._compiled.pop(term, None)

    def _term_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        compiled = self._compiled.get(term)
        if compiled is None:
            posting = self._postings.get(term)
            if not posting:
                return None
            compiled = (
                np.fromiter(posting.keys(), dtype=np.int64, count=len(posting)),
                np.fromiter(posting.values(), dtype=np.float32, count=len(posting)),
            )
            self._compiled[term] = compiled
        return compiled

    def idf(self, term: str) -> float:
        n_docs = len(self._doc_terms)
        df = len(self._postings.get(term, ()))
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))

    def score(self, query: str, n_slots: int) -> tuple[np.ndarray, float]:
        """BM25F scores over ``n_slots`` slots, and the best score any document could reach.

        The second value (sum of the query terms' IDF times the saturation ceiling) lets callers
        put scores on a 0..1 scale, "how much of the request this agent covers", that means the
        same thing from one query to the next.
        """
        scores = np.zeros(n_slots, dtype=np.float32)
        n_docs = len(self._doc_terms)
        terms = set(tokenize(query))
        if not n_docs or not terms:
            return scores, 0.0
        avg_len = self._total_len / n_docs or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[:n_slots] / avg_len)
        # A word no agent uses counts against coverage at the highest IDF: "riddles for a
        # party" matching only "party" should not look like a full match of the request.
        unseen_idf = math.log(1.0 + (n_docs + 0.5) / 0.5)
        ceiling = 0.0
        for term in terms:
            arrays = self._term_arrays(term)
            if arrays is None:
                ceiling += unseen_idf * (self.k1 + 1.0)
                continue
            slots, tf = arrays
            idf = self.idf(term)
            ceiling += idf * (self.k1 + 1.0)
            scores[slots] += idf * tf * (self.k1 + 1.0) / (tf + norm[slots])
        return scores, ceiling
