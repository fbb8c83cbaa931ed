"""Document Expert: ingest documents per conversation, answer with citations, summarise."""

from __future__ import annotations

import asyncio
import re

import httpx

from .a2a_app import AgentFailure, Inbound, InboundFile, Reply, SkillExecutor
from .extract import DocumentError, Section, extract, max_bytes
from .index import ContextStore, Document, Index, best_sentences, extractive_summary
from .llm import MODEL_HINT, ChatModel, ModelError

_SUMMARY = re.compile(
    r"^\s*(?:please\s+)?(?:summari[sz]e|summary|tl;?dr|give me (?:a|an) (?:summary|overview))"
    r"\b\s*(?:of\s+)?(?P<target>.*)$",
    re.I | re.S,
)
_AS_DOCUMENT = re.compile(r"^\s*(?:document|add (?:this )?document|remember this)\s*:\s*", re.I)
_LONG_TEXT = 2000  # a pasted text this long with no question mark is a document, not a question

ANSWER_PROMPT = """You answer questions using only the numbered passages from the user's
documents. Cite every claim with the passage number in brackets, like [2]. If the passages do
not contain the answer, say so plainly. Be concise."""
SUMMARY_PROMPT = """Summarise the user's document in a short paragraph followed by 3-6 bullet
points with the key facts. Use only the document's content."""


class DocumentExpertExecutor(SkillExecutor):
    def __init__(self, model: ChatModel | None = None, store: ContextStore | None = None) -> None:
        self.model = model
        self.store = store or ContextStore()

    async def handle(self, inbound: Inbound, reply: Reply) -> None:
        index = self.store.get(inbound.context_id)
        question = inbound.text
        added: list[Document] = []
        for file in inbound.files:
            await reply.progress(f"Reading {file.name}…")
            content: bytes = await self._fetch(file)
            added.append(await self._ingest(index, file.name, content, file.media_type))
        for item in inbound.data:
            if item.get("document"):
                pasted = str(item["document"]).encode()
                added.append(
                    await self._ingest(index, str(item.get("name", "pasted.txt")), pasted, "")
                )
            question = str(item.get("question") or question)
        if m := _AS_DOCUMENT.match(question):
            body, question = question[m.end() :], ""
            added.append(
                await self._ingest(
                    index, f"pasted-{len(index.documents) + 1}.md", body.encode(), "text/markdown"
                )
            )
        elif len(question) > _LONG_TEXT and not inbound.files and "?" not in question[-200:]:
            body, question = question, ""
            added.append(
                await self._ingest(
                    index, f"pasted-{len(index.documents) + 1}.md", body.encode(), "text/markdown"
                )
            )
        if added:
            await reply.data(
                "documents",
                [
                    {
                        "name": d.name,
                        "sections": len(d.sections),
                        "words": d.words,
                        "chunks": sum(1 for c in index.chunks if c.document == d.name),
                    }
                    for d in added
                ],
            )
            await reply.write(_describe_added(added, index))
        question = question.strip()
        if not question:
            if added:
                await reply.write("\n\nAsk me a question about it, or say “summarise”.")
                return
            raise AgentFailure(
                "Send a document (PDF, DOCX, Markdown, HTML or text as a file part or URL) and "
                "then ask questions about it, or say “summarise”."
            )
        if not index.documents:
            await reply.write(
                "There are no documents in this conversation yet. Attach a PDF, DOCX, Markdown, "
                "HTML or text file (or its URL) and ask again in the same conversation."
            )
            return
        if added:
            await reply.write("\n\n")
        if m := _SUMMARY.match(question):
            await self._summarise(index, m["target"].strip(" .?"), reply)
        else:
            await self._answer(index, question, reply)

    async def _ingest(self, index: Index, name: str, content: bytes, media_type: str) -> Document:
        try:
            # PDF and DOCX parsing is CPU-bound: run it off the event loop.
            sections: list[Section] = await asyncio.to_thread(
                extract, content, name=name, media_type=media_type
            )
        except DocumentError as exc:
            raise AgentFailure(str(exc)) from exc
        document = Document(name, sections)
        index.add(document)
        return document

    async def _fetch(self, file: InboundFile) -> bytes:
        if file.content is not None:
            return file.content
        limit = max_bytes()
        try:
            async with (
                httpx.AsyncClient(timeout=30, follow_redirects=True) as client,
                client.stream("GET", file.url or "") as resp,
            ):
                resp.raise_for_status()
                if not file.media_type:
                    file.media_type = resp.headers.get("content-type", "").split(";")[0]
                body = bytearray()
                async for piece in resp.aiter_bytes():
                    body += piece
                    if len(body) > limit:
                        raise AgentFailure(
                            f"{file.name} is larger than the {limit:,}-byte limit "
                            "(DOCUMENT_MAX_BYTES)."
                        )
                return bytes(body)
        except httpx.HTTPError as exc:
            raise AgentFailure(f"Could not download {file.url}: {exc}") from exc

    async def _answer(self, index: Index, question: str, reply: Reply) -> None:
        hits = index.search(question, k=4)
        if not hits:
            names = ", ".join(index.documents)
            await reply.write(f"I found nothing about that in {names}.")
            return
        citations = [
            {"n": i, "document": c.document, "location": c.location, "score": score, "text": c.text}
            for i, (score, c) in enumerate(hits, start=1)
        ]
        await reply.data("citations", citations)
        if self.model is None:
            lines = []
            for n, (_, chunk) in enumerate(hits[:3], start=1):
                lines += [f"> {s} [{n}]" for s in best_sentences(question, chunk)]
            await reply.write("**Most relevant passages** (extractive):\n\n" + "\n>\n".join(lines))
            await reply.write(_sources(citations))
            await reply.write(
                "\n\nA written answer needs a language model, and none is configured: "
                f"{MODEL_HINT}."
            )
            return
        passages = "\n\n".join(
            f"[{c['n']}] ({c['document']}, {c['location']})\n{c['text']}" for c in citations
        )
        try:
            async for piece in self.model.stream(
                ANSWER_PROMPT, f"{passages}\n\nQuestion: {question}"
            ):
                await reply.write(piece)
        except ModelError as exc:
            raise AgentFailure(f"The model call failed: {exc}") from exc
        await reply.write(_sources(citations))

    async def _summarise(self, index: Index, target: str, reply: Reply) -> None:
        named = [
            d for name, d in index.documents.items() if target and target.lower() in name.lower()
        ]
        for document in named or list(index.documents.values()):
            await reply.write(f"### Summary of {document.name}\n\n")
            if self.model is None:
                picks = extractive_summary(document.text, limit=5)
                await reply.write("\n".join(f"- {s}" for s in picks) + "\n\n")
                continue
            try:
                async for piece in self.model.stream(SUMMARY_PROMPT, document.text[:24000]):
                    await reply.write(piece)
            except ModelError as exc:
                raise AgentFailure(f"The model call failed: {exc}") from exc
            await reply.write("\n\n")
        if self.model is None:
            await reply.write(
                "These are the document's most representative sentences (extractive). A written "
                f"summary needs a language model, and none is configured: {MODEL_HINT}."
            )


def _describe_added(added: list[Document], index: Index) -> str:
    lines = []
    for doc in added:
        chunks = sum(1 for c in index.chunks if c.document == doc.name)
        unit = "pages" if doc.sections[0].location.startswith("page") else "sections"
        lines.append(
            f"Indexed **{doc.name}**: {len(doc.sections)} {unit}, {doc.words:,} words, "
            f"{chunks} passages."
        )
    return "\n".join(lines)


def _sources(citations: list[dict]) -> str:
    lines = ["\n\n**Sources**"]
    for c in citations:
        snippet = " ".join(c["text"].split())[:160]
        lines.append(f"[{c['n']}] {c['document']}, {c['location']}: “{snippet}…”")
    return "\n".join(lines)
