"""Read a translation request from plain text or a structured data part, without a model.

Text forms understood:

    Translate to German: <text>
    Translate from French into English:\n<text>
    Detect language: <text>
    Glossary: Nasiko=Nasiko; pull request=Pull-Request      (optional line, anywhere)

A data part may carry ``text``, ``target_language``, ``source_language`` and ``glossary``
(an object mapping source term to the exact target term).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .detect import resolve_language

_TRANSLATE = re.compile(
    r"^\s*(?:please\s+)?translate(?:\s+(?:this|the following|text))?"
    r"(?:\s+from\s+(?P<src>[\w\-]+))?\s+(?:in)?to\s+(?P<tgt>[\w\-]+)\s*[:\-]?\s*",
    re.I,
)
_DETECT = re.compile(r"^\s*(?:detect|identify)(?:\s+the)?\s+language(?:\s+of)?\s*[:\-]?\s*", re.I)
_GLOSSARY_LINE = re.compile(r"^\s*glossary\s*:\s*(?P<body>.+)$", re.I | re.M)


@dataclass
class TranslationRequest:
    text: str
    target: str | None = None
    source: str | None = None
    glossary: dict[str, str] = field(default_factory=dict)
    detect_only: bool = False
    problems: list[str] = field(default_factory=list)


def parse_glossary(body: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in re.split(r"[;,]", body):
        if "=" in item:
            src, _, tgt = item.partition("=")
            tgt = tgt.lstrip(">").strip()
            if src.strip() and tgt:
                entries[src.strip()] = tgt
        elif item.strip():
            entries[item.strip()] = item.strip()  # a bare term means "do not translate"
    return entries


def parse_request(text: str, data: list[dict[str, Any]]) -> TranslationRequest:
    req = TranslationRequest(text=text)
    glossary_match = _GLOSSARY_LINE.search(req.text)
    if glossary_match:
        req.glossary.update(parse_glossary(glossary_match["body"]))
        req.text = (req.text[: glossary_match.start()] + req.text[glossary_match.end() :]).strip()
    if m := _DETECT.match(req.text):
        req.detect_only = True
        req.text = req.text[m.end() :]
    elif m := _TRANSLATE.match(req.text):
        req.target, req.source = m["tgt"], m["src"]
        req.text = req.text[m.end() :]
    for item in data:
        req.text = str(item.get("text") or req.text)
        req.target = item.get("target_language") or item.get("target") or req.target
        req.source = item.get("source_language") or item.get("source") or req.source
        if isinstance(item.get("glossary"), dict):
            req.glossary.update({str(k): str(v) for k, v in item["glossary"].items()})
        req.detect_only = bool(item.get("detect_only", req.detect_only))
    for attr in ("target", "source"):
        value = getattr(req, attr)
        if value:
            resolved = resolve_language(value)
            if resolved is None:
                req.problems.append(f"unknown {attr} language {value!r}")
            setattr(req, attr, resolved)
    return req
