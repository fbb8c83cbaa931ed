"""Chunking and BM25 ranking, kept in memory per conversation (A2A context id)."""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from .extract import Section

CHUNK_CHARS = 900
OVERLAP_CHARS = 150
_WORD = re.compile(r"[^\W_]+", re.U)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9À-Ý])|\n{2,}")
_STOPWORD_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its me my of on or our should so than that the their them then there these they "
    "this to was we were what when where which who why will with would you your about "
    "tell please document documents text say says said"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def terms(text: str) -> list[str]:
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


def sentences(text: str) -> list[str]:
    """Sentences of ``text``; short unpunctuated lines (headings, PDF page titles) are dropped."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        stripped = line.strip()
        heading = len(stripped.split()) <= 8 and not stripped.endswith((".", "!", "?", ";", ","))
        if not stripped or heading or stripped.startswith("#"):
            blocks.append([])  # a boundary no sentence may cross
        else:
            blocks[-1].append(stripped)
    out = []
    for block in blocks:
        for piece in _SENTENCE.split(" ".join(block)):
            words = piece.split()
            if len(words) >= 3:
                out.append(" ".join(words))
    return out


@dataclass(frozen=True)
class Chunk:
    document: str
    location: str
    text: str
    terms: tuple[str, ...]


@dataclass
class Document:
    name: str
    sections: list[Section]

    @property
    def words(self) -> int:
        return sum(len(s.text.split()) for s in self.sections)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


def chunk_sections(name: str, sections: list[Section]) -> list[Chunk]:
    """Split at paragraph boundaries into ~CHUNK_CHARS pieces that overlap a little."""
    chunks: list[Chunk] = []
    for section in sections:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", section.text) if p.strip()]
        current = ""
        for paragraph in paragraphs:
            while len(paragraph) > CHUNK_CHARS:  # one huge paragraph: cut at a sentence end
                cut = paragraph.rfind(". ", 0, CHUNK_CHARS)
                cut = cut + 1 if cut > CHUNK_CHARS // 3 else CHUNK_CHARS
                if current:
                    chunks.append(_chunk(name, section.location, current))
                    current = ""
                chunks.append(_chunk(name, section.location, paragraph[:cut]))
                paragraph = paragraph[max(0, cut - OVERLAP_CHARS) :].lstrip()
            if current and len(current) + len(paragraph) > CHUNK_CHARS:
                chunks.append(_chunk(name, section.location, current))
                current = current[-OVERLAP_CHARS:].split(" ", 1)[-1] + "\n\n" + paragraph
            else:
                current = f"{current}\n\n{paragraph}" if current else paragraph
        if current.strip():
            chunks.append(_chunk(name, section.location, current))
    return chunks


def _chunk(name: str, location: str, text: str) -> Chunk:
    return Chunk(name, location, text.strip(), tuple(terms(text)))


@dataclass
class Index:
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)

    def add(self, document: Document) -> list[Chunk]:
        if document.name in self.documents:  # re-sending a file replaces it
            self.chunks = [c for c in self.chunks if c.document != document.name]
        self.documents[document.name] = document
        new = chunk_sections(document.name, document.sections)
        self.chunks.extend(new)
        return new

    def search(self, query: str, *, k: int = 4) -> list[tuple[float, Chunk]]:
        """BM25 (k1=1.5, b=0.75) over the chunks; only chunks sharing a query term score."""
        query_terms = set(terms(query))
        if not query_terms or not self.chunks:
            return []
        n = len(self.chunks)
        avg_len = sum(len(c.terms) for c in self.chunks) / n or 1.0
        df = Counter(t for c in self.chunks for t in set(c.terms) if t in query_terms)
        scored = []
        for chunk in self.chunks:
            tf = Counter(t for t in chunk.terms if t in query_terms)
            score = 0.0
            for term, freq in tf.items():
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                norm = freq + 1.5 * (1 - 0.75 + 0.75 * len(chunk.terms) / avg_len)
                score += idf * freq * 2.5 / norm
            if score > 0:
                scored.append((round(score, 4), chunk))
        scored.sort(key=lambda item: -item[0])
        return scored[:k]


def best_sentences(query: str, chunk: Chunk, *, limit: int = 2) -> list[str]:
    """The sentences of ``chunk`` sharing the most query terms (ties: earlier first)."""
    wanted = set(terms(query))
    ranked = sorted(
        enumerate(sentences(chunk.text)),
        key=lambda item: (-len(wanted & set(terms(item[1]))), item[0]),
    )
    return [s for _, s in ranked[:limit] if wanted & set(terms(s))]


def extractive_summary(text: str, *, limit: int = 5) -> list[str]:
    """The ``limit`` most representative sentences, in document order (word-frequency scoring)."""
    candidates = sentences(text)
    freq = Counter(terms(text))
    if not candidates or not freq:
        return []
    top = freq.most_common(1)[0][1]

    def score(sentence: str) -> float:
        words = terms(sentence)
        return sum(freq[w] / top for w in words) / (len(words) ** 0.5 or 1)

    chosen = sorted(sorted(range(len(candidates)), key=lambda i: -score(candidates[i]))[:limit])
    return [candidates[i] for i in chosen]


class ContextStore:
    """One index per conversation, least recently used dropped past ``max_contexts``."""

    def __init__(self, *, max_contexts: int = 256) -> None:
        self._indexes: OrderedDict[str, Index] = OrderedDict()
        self._max = max_contexts

    def get(self, context_id: str) -> Index:
        index = self._indexes.pop(context_id, None) or Index()
        self._indexes[context_id] = index
        while len(self._indexes) > self._max:
            self._indexes.popitem(last=False)
        return index
