"""Text out of documents: PDF (pypdf), DOCX (python-docx), Markdown, HTML and plain text.

Each document becomes a list of sections, each with a location a citation can point to
("page 3", "section Installation"). Failures raise :class:`DocumentError` with a message that
tells the user what to do.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser


class DocumentError(ValueError):
    """The document cannot be used; the message says why and what to send instead."""


@dataclass(frozen=True)
class Section:
    location: str
    text: str


def max_bytes() -> int:
    return int(os.environ.get("DOCUMENT_MAX_BYTES", str(20 * 1024 * 1024)))


_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown", "text/csv", "application/json")
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "a legacy Office (.doc/.xls) file",
}


def kind_of(content: bytes, *, name: str, media_type: str) -> str:
    lowered = name.lower()
    if content.startswith(b"%PDF") or media_type == "application/pdf" or lowered.endswith(".pdf"):
        return "pdf"
    if lowered.endswith(".docx") or "wordprocessingml" in media_type:
        return "docx"
    if lowered.endswith((".html", ".htm")) or media_type in ("text/html", "application/xhtml+xml"):
        return "html"
    if lowered.endswith((".md", ".markdown")) or "markdown" in media_type:
        return "markdown"
    for signature, what in _BINARY_SIGNATURES.items():
        if content.startswith(signature):
            raise DocumentError(
                f"{name} looks like {what}, which I cannot read. Send PDF, DOCX, Markdown, "
                "HTML or plain text."
            )
    if media_type and not media_type.startswith("text/") and media_type not in _TEXT_TYPES:
        raise DocumentError(
            f"{name} has type {media_type}, which I cannot read. Send PDF, DOCX, Markdown, "
            "HTML or plain text."
        )
    return "text"


def extract(content: bytes, *, name: str, media_type: str = "") -> list[Section]:
    limit = max_bytes()
    if len(content) > limit:
        raise DocumentError(
            f"{name} is {len(content):,} bytes; the limit is {limit:,} bytes "
            "(DOCUMENT_MAX_BYTES). Split it or send the relevant part."
        )
    if not content.strip():
        raise DocumentError(f"{name} is empty.")
    kind = kind_of(content, name=name, media_type=media_type)
    if kind == "pdf":
        sections = _pdf(content, name)
    elif kind == "docx":
        sections = _docx(content, name)
    else:
        text = _decode(content, name)
        if kind == "html":
            sections = _headed(_html_text(text), name)
        elif kind == "markdown":
            sections = _headed(text, name)
        else:
            sections = [Section("text", text)]
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        hint = (
            " It may be a scanned PDF (images only); send a text-based copy."
            if kind == "pdf"
            else ""
        )
        raise DocumentError(f"{name} contains no extractable text.{hint}")
    return sections


def _pdf(content: bytes, name: str) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        # An empty user password still lets us read; anything else needs the user's help.
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(
                f"{name} is password-protected (encrypted). Send an unencrypted copy."
            )
        return [
            Section(f"page {i}", page.extract_text() or "")
            for i, page in enumerate(reader.pages, start=1)
        ]
    except PdfReadError as exc:
        raise DocumentError(f"{name} is not a readable PDF: {exc}") from exc


def _docx(content: bytes, name: str) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name} is not a readable DOCX file: {exc}") from exc
    sections: list[Section] = []
    heading, lines = "start", list[str]()
    for paragraph in document.paragraphs:
        if paragraph.style is not None and paragraph.style.name.lower().startswith("heading"):
            if lines:
                sections.append(Section(f"section {heading}", "\n".join(lines)))
            heading, lines = paragraph.text.strip() or heading, [paragraph.text]
        elif paragraph.text.strip():
            lines.append(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    if lines:
        sections.append(Section(f"section {heading}", "\n".join(lines)))
    return sections


def _decode(content: bytes, name: str) -> str:
    for encoding in (
        ("utf-8-sig", "utf-16") if content[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    if b"\x00" in content[:1024]:
        raise DocumentError(f"{name} is a binary file I cannot read. Send PDF, DOCX or text.")
    return content.decode("latin-1")


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def _headed(text: str, name: str) -> list[Section]:
    """Split Markdown at headings so citations can name the section."""
    matches = list(_HEADING.finditer(text))
    if not matches:
        return [Section("text", text)]
    sections = []
    if text[: matches[0].start()].strip():
        sections.append(Section("start", text[: matches[0].start()]))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections.append(Section(f"section {m.group(2)}", text[m.start() : end]))
    return sections


class _HTMLText(HTMLParser):
    _BLOCKS = {"p", "div", "li", "tr", "br", "section", "article", "table", "pre", "blockquote"}

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "noscript", "head"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "head") and self._skip:
            self._skip -= 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def _html_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    return re.sub(r"\n[ \t]*\n(\s*\n)+", "\n\n", "".join(parser.out)).strip()
