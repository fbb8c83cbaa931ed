"""Rule packs: YAML data describing what to look for, plus the few checks regexes cannot do.

A pack file holds ``pack``, ``title``, ``description`` and ``rules``. A rule has an ``id``,
``title``, ``severity`` (low | medium | high | critical), ``fix`` and either a regex ``pattern``
(optionally with a named group ``value`` to report instead of the whole match, and a
``validator``) or a list of ``keywords``. Keywords match whole words, case-insensitively, except
all-capital acronyms (``PHI``, ``MRN``), which must match exactly.

Built-in packs live in ``rules/``; directories in ``COMPLIANCE_RULES_DIR`` (separated by ``:``)
add packs, and a pack with a built-in's name replaces it.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("low", "medium", "high", "critical")
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "rules"
REDACTIONS = ("email", "last4", "last2", "prefix4", "full", "none")


class RulePackError(ValueError):
    """A pack file is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    pack: str
    title: str
    severity: str
    fix: str
    regex: re.Pattern[str]
    validator: Callable[[str], bool] | None = None
    redact: str = "full"


@dataclass
class Pack:
    name: str
    title: str
    description: str
    source: str
    rules: list[Rule] = field(default_factory=list)


# --- validators ---------------------------------------------------------------------------


def luhn(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    # Real card ranges start 2-6; a Luhn-valid run starting 0, 1, 7, 8 or 9 is an id, not a card.
    return total % 10 == 0 and digits[0] in (2, 3, 4, 5, 6)


# Country code -> IBAN length, for the countries most often seen; others get the generic check.
_IBAN_TABLE = (
    "AD24 AT20 BE16 BG22 CH21 CY28 CZ24 DE22 DK18 EE20 ES24 FI18 FR27 GB22 GR27 HR21 HU28 "
    "IE22 IS26 IT27 LI21 LT20 LU20 LV21 MC27 MT31 NL18 NO15 PL28 PT25 RO24 SE24 SI19 SK24 "
    "SM27 TR26"
)
_IBAN_LENGTHS = {entry[:2]: int(entry[2:]) for entry in _IBAN_TABLE.split(" ")}


def iban(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return 8 <= digits <= 15


def es_dni(value: str) -> bool:
    compact = value.replace("-", "").upper()
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(compact[:8]) % 23] == compact[8]


def entropy(value: str) -> bool:
    """True for values that look machine-generated rather than words or placeholders."""
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    has_digit = any(c.isdigit() for c in value)
    return bits >= 3.5 and has_digit and not value.lower().startswith(("your", "example", "xxxx"))


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn,
    "iban": iban,
    "phone": phone,
    "es_dni": es_dni,
    "entropy": entropy,
}

# --- loading ------------------------------------------------------------------------------


def _keyword_regex(keywords: list[str]) -> re.Pattern[str]:
    exact = [re.escape(k) for k in keywords if k.isupper()]
    loose = [re.escape(k).replace(r"\ ", r"\s+") for k in keywords if not k.isupper()]
    alternatives = []
    if loose:
        alternatives.append(rf"(?i:{'|'.join(loose)})")
    if exact:
        alternatives.append("|".join(exact))
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])")


def _rule(raw: dict[str, Any], *, pack: str, source: str) -> Rule:
    where = f"{source}: rule {raw.get('id', '?')!r}"
    for key in ("id", "title", "severity"):
        if not raw.get(key):
            raise RulePackError(f"{where}: missing '{key}'")
    if raw["severity"] not in SEVERITIES:
        raise RulePackError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    validator = raw.get("validator")
    if validator is not None and validator not in VALIDATORS:
        raise RulePackError(f"{where}: unknown validator {validator!r} ({', '.join(VALIDATORS)})")
    redact = raw.get("redact", "none" if raw.get("keywords") else "full")
    if redact not in REDACTIONS:
        raise RulePackError(f"{where}: redact must be one of {', '.join(REDACTIONS)}")
    if raw.get("pattern"):
        try:
            regex = re.compile(raw["pattern"])
        except re.error as exc:
            raise RulePackError(f"{where}: bad pattern: {exc}") from exc
    elif raw.get("keywords"):
        regex = _keyword_regex([str(k) for k in raw["keywords"]])
    else:
        raise RulePackError(f"{where}: needs a 'pattern' or 'keywords'")
    return Rule(
        id=str(raw["id"]),
        pack=pack,
        title=str(raw["title"]),
        severity=raw["severity"],
        fix=str(raw.get("fix", "")),
        regex=regex,
        validator=VALIDATORS[validator] if validator else None,
        redact=redact,
    )


def load_pack(path: Path) -> Pack:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulePackError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not raw.get("pack") or not isinstance(raw.get("rules"), list):
        raise RulePackError(f"{path}: a pack needs 'pack' (its name) and a list of 'rules'")
    name = str(raw["pack"])
    pack = Pack(name, str(raw.get("title", name)), str(raw.get("description", "")), str(path))
    pack.rules = [_rule(r, pack=name, source=path.name) for r in raw["rules"]]
    return pack


def load_packs(extra_dirs: str | None = None) -> dict[str, Pack]:
    """Built-in packs, then the user's (``COMPLIANCE_RULES_DIR``) replacing same-named ones."""
    extra_dirs = os.environ.get("COMPLIANCE_RULES_DIR", "") if extra_dirs is None else extra_dirs
    dirs = [BUILTIN_DIR, *(Path(d) for d in extra_dirs.split(os.pathsep) if d.strip())]
    packs: dict[str, Pack] = {}
    for directory in dirs:
        if not directory.is_dir():
            raise RulePackError(f"rule directory {directory} does not exist")
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            pack = load_pack(path)
            packs[pack.name] = pack
    return packs
