"""The compliance checker: deterministic scanning with rule packs, explanations with a model."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx

from .a2a_app import AgentFailure, Inbound, InboundFile, Reply, SkillExecutor
from .extract import MAX_BYTES, ExtractError, extract_text
from .llm import MODEL_HINT, ChatModel, ModelError
from .rules import SEVERITIES, Pack, RulePackError, load_packs
from .scan import Finding, redacted_text, scan

_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+)?(?:check|scan|audit|review|inspect)\b[^\n:]*:\s*", re.I
)
_PACKS_LINE = re.compile(r"^\s*(?:packs?|rule ?packs?)\s*:\s*(?P<names>.+)$", re.I | re.M)
_LIST = re.compile(r"^\s*(?:list|show|which|what)\b.*\b(?:packs?|rules)\b", re.I)

SYSTEM_PROMPT = """You are a privacy and security compliance reviewer. You get a document in which
sensitive values are already redacted, and the findings of a rule-based scan. For each finding
explain briefly why it is a problem (name the regulation or practice: GDPR, HIPAA, PCI DSS,
secret hygiene) and give a concrete fix. Then list any further risks the rules could have
missed. Never try to reconstruct redacted values. Answer in Markdown."""


class ComplianceExecutor(SkillExecutor):
    def __init__(self, model: ChatModel | None = None) -> None:
        self.model = model

    async def handle(self, inbound: Inbound, reply: Reply) -> None:
        try:
            packs = load_packs()
        except RulePackError as exc:
            raise AgentFailure(f"A rule pack is broken: {exc}") from exc
        if _LIST.match(inbound.text) and not inbound.files:
            await reply.write(_describe(packs))
            return
        text, wanted, min_severity = self._parse(inbound, packs)
        chosen = [packs[name] for name in wanted]
        documents = [("message", text)] if text.strip() else []
        for file in inbound.files:
            await reply.progress(f"Reading {file.name}…")
            documents.append((file.name, await self._read(file)))
        if not documents:
            raise AgentFailure("Send the text to check, or attach a document (text, PDF, DOCX).")
        findings: list[Finding] = []
        for source, body in documents:
            findings += await asyncio.to_thread(
                scan, body, chosen, source=source, min_severity=min_severity
            )
        await reply.data(
            "findings",
            {
                "packs": [p.name for p in chosen],
                "count": len(findings),
                "by_severity": dict(Counter(f.severity for f in findings)),
                "findings": [f.as_dict() for f in findings],
            },
        )
        await reply.write(_report(findings, chosen, sources=len(documents)))
        if not findings:
            return
        if self.model is None:
            await reply.write(
                "\n\nTailored explanations and fixes need a language model, and none is "
                f"configured: {MODEL_HINT}. The fixes above come from the rule packs."
            )
            return
        await self._explain(documents, findings, reply)

    def _parse(self, inbound: Inbound, packs: dict[str, Pack]) -> tuple[str, list[str], str]:
        text = inbound.text
        wanted: list[str] = []
        min_severity = "low"
        if m := _PACKS_LINE.search(text):
            wanted = [n.strip() for n in re.split(r"[,\s]+", m["names"]) if n.strip()]
            text = (text[: m.start()] + text[m.end() :]).strip("\n")
        if m := _INSTRUCTION.match(text):
            instruction = m.group(0).lower()
            wanted = wanted or [n for n in packs if n.replace("-", " ") in instruction]
            text = text[m.end() :]
        for item in inbound.data:
            text = str(item.get("text") or text)
            if isinstance(item.get("packs"), list):
                wanted = [str(p) for p in item["packs"]]
            min_severity = str(item.get("min_severity", min_severity))
        unknown = [n for n in wanted if n not in packs]
        if unknown:
            raise AgentFailure(
                f"Unknown rule pack(s): {', '.join(unknown)}. Available: {', '.join(packs)}."
            )
        if min_severity not in SEVERITIES:
            raise AgentFailure(f"min_severity must be one of {', '.join(SEVERITIES)}.")
        return text, wanted or list(packs), min_severity

    async def _read(self, file: InboundFile) -> str:
        content = file.content
        if content is None and file.url:
            try:
                async with httpx.AsyncClient(timeout=30, follow_redirects=True) as client:
                    resp = await client.get(file.url)
                    resp.raise_for_status()
            except httpx.HTTPError as exc:
                raise AgentFailure(f"Could not download {file.url}: {exc}") from exc
            if len(resp.content) > MAX_BYTES:
                raise AgentFailure(f"{file.name} is larger than the {MAX_BYTES}-byte limit.")
            content = resp.content
        try:
            return await asyncio.to_thread(
                extract_text, content or b"", name=file.name, media_type=file.media_type
            )
        except ExtractError as exc:
            raise AgentFailure(str(exc)) from exc

    async def _explain(
        self, documents: list[tuple[str, str]], findings: list[Finding], reply: Reply
    ) -> None:
        listing = "\n".join(
            f"- [{f.severity}] {f.title} ({f.pack}/{f.rule}) in {f.source} "
            f"line {f.line}: {f.excerpt}"
            for f in findings
        )
        # Only redacted text leaves this process: the model provider never sees the values.
        safe_docs = "\n\n".join(
            f"## {source}\n"
            + redacted_text(body, [f for f in findings if f.source == source])[:6000]
            for source, body in documents
        )
        prompt = f"Findings:\n{listing}\n\nDocument(s), redacted:\n{safe_docs}"
        await reply.write("\n\n## Explanation and suggested fixes\n\n")
        try:
            async for chunk in self.model.stream(SYSTEM_PROMPT, prompt):  # type: ignore[union-attr]
                await reply.write(chunk)
        except ModelError as exc:
            await reply.write(f"\n\n(The model call failed: {exc})")


def _report(findings: list[Finding], packs: list[Pack], *, sources: int) -> str:
    names = ", ".join(p.name for p in packs)
    if not findings:
        return f"No findings in {sources} document(s) checked against: {names}."
    counts = Counter(f.severity for f in findings)
    summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])
    lines = [
        f"**{len(findings)} finding(s)** ({summary}) checked against: {names}.",
        "",
        "| Severity | Rule | Where | Excerpt | Fix |",
        "|---|---|---|---|---|",
    ]
    for f in findings:
        excerpt = f.excerpt.replace("|", "\\|")
        lines.append(
            f"| {f.severity} | {f.title} (`{f.pack}/{f.rule}`) | {f.source} {f.line}:{f.column} "
            f"| {excerpt} | {f.fix} |"
        )
    return "\n".join(lines)


def _describe(packs: dict[str, Pack]) -> str:
    lines = ["Rule packs available (add your own YAML packs with COMPLIANCE_RULES_DIR):", ""]
    for pack in packs.values():
        lines.append(f"- **{pack.name}** — {pack.title}: {pack.description}")
        lines += [f"  - `{r.id}` ({r.severity}): {r.title}" for r in pack.rules]
    return "\n".join(lines)
