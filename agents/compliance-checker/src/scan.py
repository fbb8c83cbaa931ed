"""Run rule packs over text and report findings with location and a redacted excerpt."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass

from .rules import SEVERITIES, Pack, Rule

_EXCERPT_RADIUS = 40


@dataclass(frozen=True)
class Finding:
    rule: str
    pack: str
    title: str
    severity: str
    source: str  # which input: "message" or a file name
    line: int  # 1-based
    column: int  # 1-based, in characters
    excerpt: str  # the surrounding text with the match redacted
    match: str  # the matched value, redacted
    fix: str
    start: int  # character offsets in the scanned text
    end: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def redact(value: str, mode: str) -> str:
    """Mask ``value``; the result has the same length, so offsets in the text stay valid."""
    if mode == "none":
        return value
    if mode == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return local[:1] + "*" * (len(local) - 1) + "@" + domain
    keep_end = {"last4": 4, "last2": 2}.get(mode, 0)
    keep_start = 4 if mode == "prefix4" else 0
    # Count only letters and digits, so "4111 1111 1111 1111" keeps "1111", not "111".
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    visible = set(positions[:keep_start]) | set(positions[len(positions) - keep_end :])
    out = [ch if i in visible or not ch.isalnum() else "*" for i, ch in enumerate(value)]
    return "".join(out)


def scan(
    text: str,
    packs: list[Pack],
    *,
    source: str = "message",
    min_severity: str = "low",
) -> list[Finding]:
    floor = SEVERITIES.index(min_severity)
    candidates: list[tuple[int, int, Rule]] = []
    for pack in packs:
        for rule in pack.rules:
            if SEVERITIES.index(rule.severity) < floor:
                continue
            for match in rule.regex.finditer(text):
                group = "value" if "value" in rule.regex.groupindex else 0
                start, end = match.span(group)
                if rule.validator is not None and not rule.validator(text[start:end]):
                    continue
                candidates.append((start, end, rule))
    # Where rules overlap (a card number also looks like a phone number) the most severe,
    # then the longest, match wins and the others are dropped.
    ranked = sorted(candidates, key=lambda c: (-SEVERITIES.index(c[2].severity), c[0] - c[1]))
    kept: list[tuple[int, int, Rule]] = []
    for start, end, rule in ranked:
        if not any(start < e and s < end for s, e, _ in kept):
            kept.append((start, end, rule))
    # Excerpts come from a copy with every finding masked, so a line holding two secrets
    # never shows one of them in the other's excerpt.
    masked = list(text)
    for start, end, rule in kept:
        masked[start:end] = redact(text[start:end], rule.redact)
    safe = "".join(masked)
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    findings = []
    for start, end, rule in kept:
        line = bisect.bisect_right(line_starts, start)
        findings.append(
            Finding(
                rule=rule.id,
                pack=rule.pack,
                title=rule.title,
                severity=rule.severity,
                source=source,
                line=line,
                column=start - line_starts[line - 1] + 1,
                excerpt=_excerpt(safe, start, end, line_starts[line - 1]),
                match=safe[start:end],
                fix=rule.fix,
                start=start,
                end=end,
            )
        )
    return sorted(findings, key=lambda f: (f.source, f.line, f.column))


def _excerpt(safe: str, start: int, end: int, line_start: int) -> str:
    line_end = safe.find("\n", end)
    line_end = len(safe) if line_end == -1 else line_end
    lo = max(line_start, start - _EXCERPT_RADIUS)
    hi = min(line_end, end + _EXCERPT_RADIUS)
    prefix = "…" if lo > line_start else ""
    suffix = "…" if hi < line_end else ""
    return f"{prefix}{safe[lo:hi]}{suffix}".strip()


def redacted_text(text: str, findings: list[Finding]) -> str:
    """The text with every finding masked (safe to show a model)."""
    masked = list(text)
    for finding in findings:
        masked[finding.start : finding.end] = finding.match
    return "".join(masked)
