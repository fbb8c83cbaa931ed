"""The translator's skills: detect a language (no model) and translate (model)."""

from __future__ import annotations

import asyncio

from .a2a_app import AgentFailure, Inbound, Reply, SkillExecutor
from .detect import detect, detect_sections
from .llm import MODEL_HINT, ChatModel, ModelError
from .masking import StreamRestorer, mask, strip_placeholders
from .parsing import TranslationRequest, parse_request

SYSTEM_PROMPT = """You are a professional translator. Translate the user's text {direction}.
Rules:
- Output only the translation, nothing else.
- Keep the Markdown structure exactly: headings, lists, tables, emphasis and line breaks.
- Tokens of the form ⟦n⟧ are protected placeholders (code, links, glossary terms). Copy each one
  exactly once, unchanged, where it belongs in the translated sentence.
{glossary}"""


class TranslatorExecutor(SkillExecutor):
    def __init__(self, model: ChatModel | None = None) -> None:
        self.model = model

    async def handle(self, inbound: Inbound, reply: Reply) -> None:
        req = parse_request(inbound.text, inbound.data)
        if req.problems:
            raise AgentFailure("; ".join(req.problems) + ". Use a language name or ISO code.")
        if not req.text.strip():
            raise AgentFailure(
                "Nothing to translate. Send e.g. 'Translate to German: Hello world' or a data "
                "part {text, target_language, glossary}."
            )
        masked = mask(req.text, req.glossary)
        # lingua is CPU-bound (and loads its models on first use): keep it off the event loop.
        found = await asyncio.to_thread(detect, strip_placeholders(masked.text))
        await reply.data(
            "detection",
            {
                "language": found[0].language if found else None,
                "iso_code": found[0].iso_code if found else None,
                "confidence": found[0].confidence if found else 0.0,
                "candidates": [vars(d) for d in found],
            },
        )
        if req.detect_only or not req.target:
            await self._report_detection(req, found, reply)
            return
        if self.model is None:
            lang = found[0].language if found else "unknown"
            await reply.write(
                f"Detected language: {lang}.\n\nTranslation to {req.target} needs a language "
                f"model, and none is configured: {MODEL_HINT}."
            )
            return
        await self._translate(req, masked, found[0].language if found else None, reply)

    async def _report_detection(self, req: TranslationRequest, found: list, reply: Reply) -> None:
        if not found:
            await reply.write("I could not tell the language: the text has no words to judge.")
            return
        lines = [
            f"Detected language: **{found[0].language}** ({found[0].iso_code}), "
            f"confidence {found[0].confidence:.2f}."
        ]
        if len(found) > 1:
            others = ", ".join(f"{d.language} {d.confidence:.2f}" for d in found[1:])
            lines.append(f"Other candidates: {others}.")
        sections = await asyncio.to_thread(detect_sections, strip_placeholders(mask(req.text).text))
        if len({lang for lang, _ in sections}) > 1:
            lines.append("\nThe text mixes languages:")
            lines += [f"- {lang}: “{passage[:80]}”" for lang, passage in sections]
        if not req.target:
            lines.append("\nTo translate, say e.g. 'Translate to French: …'.")
        await reply.write("\n".join(lines))

    async def _translate(
        self, req: TranslationRequest, masked, detected: str | None, reply: Reply
    ) -> None:
        source = req.source or detected
        direction = f"from {source} to {req.target}" if source else f"to {req.target}"
        glossary = ""
        if req.glossary:
            glossary = "- Glossary terms are already placed as placeholders; keep them as given."
        assert self.model is not None
        restorer = StreamRestorer(masked)
        try:
            async for chunk in self.model.stream(
                SYSTEM_PROMPT.format(direction=direction, glossary=glossary), masked.text
            ):
                await reply.write(restorer.feed(chunk))
        except ModelError as exc:
            raise AgentFailure(f"Translation failed: {exc}") from exc
        await reply.write(restorer.flush())
        lost = masked.missing(restorer.raw)
        if lost:
            # Never silently lose code or glossary terms: hand them back verbatim.
            await reply.write(
                "\n\n---\nThe model dropped these protected segments; here they are unchanged:\n\n"
                + "\n\n".join(lost)
            )
