"""Protect what must not be translated: code, URLs and glossary terms.

Protected spans are swapped for placeholders ``⟦n⟧`` before the text goes to the model and put
back afterwards. Glossary terms come back as the target term the user gave, so they survive
whatever the model does with the sentence around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Fenced blocks first (they may contain backticks), then inline code, autolinks and bare URLs.
_FENCED = re.compile(r"^(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^(?P=fence)[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_URL = re.compile(r"<?https?://[^\s)>\]]+>?")
_PLACEHOLDER = re.compile(r"⟦(\d+)⟧")


@dataclass
class Masked:
    text: str
    originals: list[str] = field(default_factory=list)

    def restore(self, translated: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._original(int(m.group(1)), m.group(0)), translated)

    def missing(self, translated: str) -> list[str]:
        """Protected segments the model dropped from its output."""
        seen = {int(n) for n in _PLACEHOLDER.findall(translated)}
        return [orig for i, orig in enumerate(self.originals) if i not in seen]

    def _original(self, index: int, token: str) -> str:
        return self.originals[index] if index < len(self.originals) else token


def mask(text: str, glossary: dict[str, str] | None = None) -> Masked:
    masked = Masked(text="")

    def keep(replacement: str) -> str:
        masked.originals.append(replacement)
        return f"⟦{len(masked.originals) - 1}⟧"

    out = _FENCED.sub(lambda m: keep(m.group(0)), text)
    out = _INLINE_CODE.sub(lambda m: keep(m.group(0)), out)
    out = _URL.sub(lambda m: keep(m.group(0)), out)
    for source, target in sorted((glossary or {}).items(), key=lambda kv: -len(kv[0])):
        if not source.strip():
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(source)}(?!\w)", re.I)

        def term(_match: re.Match[str], target: str = target) -> str:
            return keep(target)

        out = pattern.sub(term, out)
    masked.text = out
    return masked


class StreamRestorer:
    """Restores placeholders in a streamed reply without splitting one across chunks."""

    def __init__(self, masked: Masked) -> None:
        self._masked = masked
        self._pending = ""
        self.raw = ""

    def feed(self, chunk: str) -> str:
        self.raw += chunk
        self._pending += chunk
        cut = self._pending.rfind("⟦")
        if cut != -1 and "⟧" not in self._pending[cut:]:
            ready, self._pending = self._pending[:cut], self._pending[cut:]
        else:
            ready, self._pending = self._pending, ""
        return self._masked.restore(ready)

    def flush(self) -> str:
        ready, self._pending = self._pending, ""
        return self._masked.restore(ready)


def strip_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(" ", text)
