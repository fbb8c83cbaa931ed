"""Turn attached documents into text to scan: plain text, Markdown, HTML, PDF and DOCX."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

MAX_BYTES = 10 * 1024 * 1024


class ExtractError(ValueError):
    """The file cannot be read; the message says why and what to do."""


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def extract_text(content: bytes, *, name: str, media_type: str) -> str:
    if len(content) > MAX_BYTES:
        raise ExtractError(f"{name} is {len(content)} bytes; the limit is {MAX_BYTES} bytes")
    kind = _kind(content, name, media_type)
    if kind == "pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractError(f"{name} is encrypted; send a decrypted copy")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    if kind == "docx":
        import docx

        document = docx.Document(io.BytesIO(content))
        return "\n".join(p.text for p in document.paragraphs)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractError(
            f"{name} ({media_type or 'unknown type'}) is not text, PDF or DOCX"
        ) from exc
    return html_to_text(text) if kind == "html" else text


def _kind(content: bytes, name: str, media_type: str) -> str:
    lowered = name.lower()
    if content.startswith(b"%PDF") or media_type == "application/pdf" or lowered.endswith(".pdf"):
        return "pdf"
    if lowered.endswith(".docx") or "wordprocessingml" in media_type:
        return "docx"
    if lowered.endswith((".html", ".htm")) or media_type == "text/html":
        return "html"
    return "text"
