"""The Document Expert as a real A2A server, fed documents the test builds itself."""

from __future__ import annotations

import io
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docx
import pytest
from agent_harness import ask, data_part, file_part, url_part
from pypdf import PdfReader, PdfWriter
from tiny_pdf import make_pdf

PDF_PAGES = [
    [
        "Aurora Water Pump - Service Manual",
        "",
        "The Aurora pump moves 40 litres per minute at 2 bar.",
        "It runs on a 24 volt supply and draws at most 3 amperes.",
    ],
    [
        "Maintenance",
        "",
        "Replace the ceramic seal every 18 months or after 5000 operating hours.",
        "Clean the intake filter monthly with warm water; never use solvents.",
    ],
    [
        "Warranty",
        "",
        "The warranty covers manufacturing defects for 3 years from purchase.",
        "Damage from frost or dry running is not covered by the warranty.",
    ],
]
PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Travel policy", level=1)
    document.add_paragraph("Employees book trains for trips under 600 kilometres.")
    document.add_heading("Expenses", level=1)
    document.add_paragraph("Meals are reimbursed up to 45 euros per day with receipts.")
    document.add_paragraph("Hotel rooms must not exceed 160 euros per night in capital cities.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_pdf_question_cites_the_right_page(start_agent) -> None:
    agent = start_agent("document-expert")
    pdf = make_pdf(PDF_PAGES)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3  # a real PDF, as pypdf sees it
    first = await ask(agent.url, file_part(pdf, filename="aurora.pdf", media_type=PDF_MIME))
    assert first.state == "TASK_STATE_COMPLETED"
    assert "Indexed **aurora.pdf**: 3 pages" in first.text
    assert first.data["documents"][0]["words"] > 40

    reply = await ask(
        agent.url, "How often should the seal be replaced?", context_id=first.context_id
    )
    top = reply.data["citations"][0]
    assert (top["document"], top["location"]) == ("aurora.pdf", "page 2")
    assert (
        "> Replace the ceramic seal every 18 months or after 5000 operating hours. [1]"
        in reply.text
    )
    assert "[1] aurora.pdf, page 2" in reply.text
    assert "OPENAI_API_KEY" in reply.text  # says what a written answer needs


async def test_documents_are_kept_per_conversation(start_agent) -> None:
    agent = start_agent("document-expert")
    first = await ask(
        agent.url, file_part(make_docx(), filename="travel.docx", media_type=DOCX_MIME)
    )
    assert "Indexed **travel.docx**: 2 sections" in first.text
    same = await ask(agent.url, "What is the hotel limit per night?", context_id=first.context_id)
    top = same.data["citations"][0]
    assert (top["document"], top["location"]) == ("travel.docx", "section Expenses")
    assert "160 euros per night" in same.text
    other = await ask(agent.url, "What is the hotel limit per night?")
    assert "no documents in this conversation" in other.text


async def test_grounded_answer_with_model(start_agent, fake_llm) -> None:
    fake_llm.responder = lambda request: "Every 18 months or 5000 hours [1]."
    agent = start_agent("document-expert", fake_llm.env())
    first = await ask(
        agent.url, file_part(make_pdf(PDF_PAGES), filename="aurora.pdf", media_type=PDF_MIME)
    )
    reply = await ask(agent.url, "When do I replace the seal?", context_id=first.context_id)
    assert reply.text.startswith("Every 18 months or 5000 hours [1].")
    assert "**Sources**\n[1] aurora.pdf, page 2" in reply.text
    prompt = fake_llm.requests[-1]
    assert (
        "[1] (aurora.pdf, page 2)" in prompt.user
        and "Question: When do I replace the seal?" in prompt.user
    )
    assert "Cite every claim" in prompt.system


async def test_summary_without_and_with_model(start_agent, fake_llm) -> None:
    markdown = "# Aurora\n\n" + "\n\n".join(" ".join(lines) for lines in PDF_PAGES)
    plain = start_agent("document-expert")
    reply = await ask(
        plain.url,
        file_part(markdown.encode(), filename="aurora.md", media_type="text/markdown"),
        "Summarise",
    )
    assert "### Summary of aurora.md" in reply.text
    bullets = [line for line in reply.text.splitlines() if line.startswith("- ")]
    assert 1 <= len(bullets) <= 5 and all(b[2:] in " ".join(markdown.split()) for b in bullets)
    assert "A written summary needs a language model" in reply.text

    fake_llm.responder = lambda request: "The Aurora pump: 40 l/min, 3-year warranty."
    modelled = start_agent("document-expert", fake_llm.env())
    reply = await ask(
        modelled.url,
        data_part({"document": markdown, "name": "aurora.md", "question": "summarize"}),
    )
    assert "The Aurora pump: 40 l/min, 3-year warranty." in reply.text
    assert "Replace the ceramic seal" in fake_llm.requests[-1].user


async def test_url_and_html_documents(start_agent, tmp_path: Path) -> None:
    (tmp_path / "faq.html").write_text(
        "<html><head><title>x</title><style>p{}</style></head><body><h1>FAQ</h1>"
        "<h2>Returns</h2><p>Items can be returned within 30 days with the receipt.</p>"
        "<h2>Shipping</h2><p>Standard shipping takes 3 to 5 working days.</p></body></html>"
    )
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        agent = start_agent("document-expert")
        url = f"http://127.0.0.1:{server.server_address[1]}/faq.html"
        reply = await ask(
            agent.url,
            url_part(url, filename="faq.html", media_type="text/html"),
            "How long does shipping take?",
        )
    finally:
        server.shutdown()
        server.server_close()
    top = reply.data["citations"][0]
    assert top["location"] == "section Shipping"
    assert "Standard shipping takes 3 to 5 working days." in reply.text


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="s3cret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "media_type", "message"),
    [
        (
            "locked.pdf",
            encrypted(make_pdf(PDF_PAGES)),
            PDF_MIME,
            "locked.pdf is password-protected",
        ),
        ("blank.pdf", make_pdf([[]]), PDF_MIME, "blank.pdf contains no extractable text"),
        ("empty.txt", b"   \n", "text/plain", "empty.txt is empty"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", "photo.png looks like a PNG"),
        ("broken.docx", b"not a zip", DOCX_MIME, "broken.docx is not a readable DOCX file"),
    ],
)
async def test_unusable_documents_fail_clearly(
    start_agent, name: str, content: bytes, media_type: str, message: str
) -> None:
    agent = start_agent("document-expert")
    reply = await ask(agent.url, file_part(content, filename=name, media_type=media_type))
    assert reply.state == "TASK_STATE_FAILED"
    assert message in reply.failure


async def test_size_limit(start_agent) -> None:
    agent = start_agent("document-expert", {"DOCUMENT_MAX_BYTES": "1000"})
    reply = await ask(
        agent.url, file_part(b"word " * 400, filename="big.txt", media_type="text/plain")
    )
    assert reply.state == "TASK_STATE_FAILED"
    assert "big.txt is 2,000 bytes; the limit is 1,000 bytes (DOCUMENT_MAX_BYTES)" in reply.failure


async def test_pasted_text_becomes_a_document(start_agent) -> None:
    agent = start_agent("document-expert")
    notes = (
        "# Onboarding\n\nNew hires get a laptop on their first day from the IT desk.\n\n"
        "## Access\n\nVPN access is requested through the service portal and takes two days."
    )
    first = await ask(agent.url, f"Document: {notes}")
    assert "Indexed **pasted-1.md**: 2 sections" in first.text
    reply = await ask(agent.url, "How long does VPN access take?", context_id=first.context_id)
    assert reply.data["citations"][0]["location"] == "section Access"
    assert "takes two days. [1]" in reply.text
