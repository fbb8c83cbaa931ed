"""The compliance checker as a real A2A server."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from agent_harness import ask, data_part, file_part, load_agent_module

CORPUS = Path(__file__).parent / "corpus"
SENSITIVE = (CORPUS / "sensitive.txt").read_text()
RAW_SECRETS = ("4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE", "jane.doe@example.com",
               "078-05-1120", "ghp_Zq8xV2mN4kL7pR1sT9wY3bC6dF0gH5jK8lM2")  # fmt: skip


def expected_count() -> int:
    rules = load_agent_module("compliance-checker", "rules")
    scan = load_agent_module("compliance-checker", "scan")
    return len(scan.scan(SENSITIVE, list(rules.load_packs("").values())))


async def test_report_without_model(start_agent) -> None:
    agent = start_agent("compliance-checker")
    reply = await ask(agent.url, "Check this document:\n" + SENSITIVE)
    assert reply.state == "TASK_STATE_COMPLETED"
    result = reply.data["findings"]
    assert result["count"] == expected_count() == len(result["findings"])
    assert result["by_severity"]["critical"] >= 7
    first = result["findings"][0]
    assert (first["line"], first["rule"], first["source"]) == (2, "email-address", "message")
    assert "| critical | Payment card number" in reply.text
    assert "OPENAI_API_KEY" in reply.text and "need a language model" in reply.text
    for secret in RAW_SECRETS:
        assert secret not in reply.text and secret not in str(result)


async def test_clean_text_reports_nothing(start_agent) -> None:
    agent = start_agent("compliance-checker")
    clean = (CORPUS / "clean" / "meeting-notes.txt").read_text()
    reply = await ask(agent.url, data_part({"text": clean}))
    assert reply.data["findings"]["count"] == 0
    assert reply.text.startswith("No findings in 1 document(s)")


async def test_explanations_come_from_model_with_redacted_input(start_agent, fake_llm) -> None:
    fake_llm.responder = lambda request: "Rotate the AWS key and remove the card number."
    agent = start_agent("compliance-checker", fake_llm.env())
    reply = await ask(agent.url, "Scan for secrets and personal data:\n" + SENSITIVE)
    assert reply.data["findings"]["packs"] == ["personal-data", "secrets"]
    assert "## Explanation and suggested fixes" in reply.text
    assert reply.text.endswith("Rotate the AWS key and remove the card number.")
    prompt = fake_llm.requests[-1].user
    assert "payment-card" in prompt and "**** **** **** 1111" in prompt
    for secret in RAW_SECRETS:
        assert secret not in prompt  # the model provider never sees the raw values


async def test_docx_attachment_and_user_pack(start_agent, tmp_path: Path) -> None:
    (tmp_path / "internal.yaml").write_text(
        "pack: internal\ntitle: Internal codenames\nrules:\n"
        "  - id: codename\n    title: Project codename\n    severity: medium\n"
        "    keywords: [Project Bluebird]\n    fix: Use the public product name.\n"
    )
    agent = start_agent("compliance-checker", {"COMPLIANCE_RULES_DIR": str(tmp_path)})
    document = docx.Document()
    document.add_paragraph("Quarterly review")
    document.add_paragraph("Project Bluebird ships in May; ask ops@example.net for access.")
    buffer = io.BytesIO()
    document.save(buffer)
    reply = await ask(
        agent.url,
        "packs: internal, personal-data",
        file_part(buffer.getvalue(), filename="review.docx",
                  media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    )  # fmt: skip
    findings = reply.data["findings"]["findings"]
    assert [(f["source"], f["line"], f["rule"]) for f in findings] == [
        ("review.docx", 2, "codename"),
        ("review.docx", 2, "email-address"),
    ]


async def test_lists_packs_and_rejects_unknown_ones(start_agent) -> None:
    agent = start_agent("compliance-checker")
    listing = await ask(agent.url, "List the rule packs")
    for name in ("personal-data", "secrets", "gdpr", "hipaa"):
        assert f"**{name}**" in listing.text
    assert "`payment-card` (critical)" in listing.text
    bad = await ask(agent.url, "packs: sox\nsome text")
    assert bad.state == "TASK_STATE_FAILED"
    assert "Unknown rule pack(s): sox" in bad.failure
