"""The compliance checker's rule packs over a corpus with known findings and known clean text."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_harness import load_agent_module

CORPUS = Path(__file__).parent / "corpus"
rules = load_agent_module("compliance-checker", "rules")
scan = load_agent_module("compliance-checker", "scan")

# (line, rule) for every sensitive item planted in corpus/sensitive.txt.
EXPECTED = {
    (2, "email-address"), (2, "phone-number"),
    (3, "phone-number"), (3, "email-address"),
    (4, "iban"), (5, "iban"),
    (6, "payment-card"), (7, "payment-card"),
    (8, "us-ssn"), (9, "uk-nino"), (9, "es-dni"),
    (11, "aws-access-key-id"), (12, "aws-secret-access-key"), (13, "github-token"),
    (14, "generic-api-key"), (15, "private-key-block"),
    (18, "gdpr-special-category"), (19, "hipaa-health-condition"),
    (19, "hipaa-phi-identifiers"),
}  # fmt: skip


def test_every_planted_item_is_found_and_nothing_else() -> None:
    packs = list(rules.load_packs("").values())
    findings = scan.scan((CORPUS / "sensitive.txt").read_text(), packs)
    found = {(f.line, f.rule) for f in findings}
    assert found == EXPECTED
    # Two cards on line 7, two special categories on line 18, two health phrases on line 19.
    assert sum(1 for f in findings if f.line == 7) == 2
    assert sum(1 for f in findings if f.rule == "gdpr-special-category") == 2


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "clean").iterdir()))
def test_clean_corpus_has_no_false_positives(name: str) -> None:
    packs = list(rules.load_packs("").values())
    findings = scan.scan((CORPUS / "clean" / name).read_text(), packs)
    assert findings == [], [(f.line, f.rule, f.excerpt) for f in findings]


def test_locations_and_redaction() -> None:
    packs = list(rules.load_packs("").values())
    text = (CORPUS / "sensitive.txt").read_text()
    by_rule: dict = {}
    for finding in scan.scan(text, packs):
        by_rule.setdefault(finding.rule, finding)  # the first occurrence of each rule
    card = by_rule["payment-card"]
    assert (card.line, card.column) == (6, 15)
    assert card.match == "**** **** **** 1111"
    assert "4111 1111 1111 1111" not in card.excerpt and "**** 1111 (exp 12/27)" in card.excerpt
    assert by_rule["email-address"].match == "j*******@example.com"
    assert by_rule["aws-access-key-id"].match == "AKIA****************"
    assert by_rule["aws-secret-access-key"].match.startswith("wJal*")
    assert "wJalrXUtnFEMI" not in by_rule["aws-secret-access-key"].excerpt
    assert by_rule["iban"].match == "**** **** **** **** **30 00"


@pytest.mark.parametrize(
    ("value", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True),
     ("0000000000000000", False)],
)  # fmt: skip
def test_luhn(value: str, valid: bool) -> None:
    assert rules.luhn(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [("DE89 3704 0044 0532 0130 00", True), ("DE89 3704 0044 0532 0130 01", False),
     ("GB82WEST12345698765432", True), ("FR1420041010050500013M02606", True),
     ("DE89370400440532013", False)],
)  # fmt: skip
def test_iban_mod97(value: str, valid: bool) -> None:
    assert rules.iban(value) is valid


def test_user_pack_directory_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "internal.yaml").write_text(
        "pack: internal\ntitle: Internal codenames\nrules:\n"
        "  - id: codename\n    title: Project codename\n    severity: low\n"
        "    keywords: [Project Bluebird]\n    fix: Use the public product name.\n"
    )
    packs = rules.load_packs(str(tmp_path))
    assert "internal" in packs and "secrets" in packs
    findings = scan.scan("Status of project  bluebird: green", [packs["internal"]])
    assert [(f.rule, f.column) for f in findings] == [("codename", 11)]


def test_broken_pack_names_file_and_rule(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "pack: bad\nrules:\n  - id: oops\n    title: Oops\n    severity: urgent\n    pattern: x\n"
    )
    with pytest.raises(rules.RulePackError, match=r"bad.yaml: rule 'oops': severity must be"):
        rules.load_packs(str(tmp_path))
