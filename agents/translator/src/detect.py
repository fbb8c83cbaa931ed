"""Language detection without a model, using lingua (n-gram models ship in its wheel)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder


@dataclass(frozen=True)
class Detection:
    language: str  # English name, e.g. "German"
    iso_code: str  # ISO 639-1, e.g. "de"
    confidence: float


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Models load lazily per language, so "all languages" costs nothing until used.
    return LanguageDetectorBuilder.from_all_languages().build()


@lru_cache(maxsize=1)
def _by_name() -> dict[str, Language]:
    table: dict[str, Language] = {}
    for lang in Language.all():
        table[lang.name.lower()] = lang
        table[lang.iso_code_639_1.name.lower()] = lang
        table[lang.iso_code_639_3.name.lower()] = lang
    # Common alternative names people type.
    for alias, name in {
        "farsi": "persian",
        "mandarin": "chinese",
        "deutsch": "german",
        "español": "spanish",
        "espanol": "spanish",
        "français": "french",
        "francais": "french",
    }.items():
        table[alias] = table[name]
    return table


def resolve_language(value: str) -> str | None:
    """Canonical English name for a language name or ISO code, None if unknown."""
    lang = _by_name().get(value.strip().lower())
    return lang.name.title() if lang else None


def detect(text: str, *, top: int = 3) -> list[Detection]:
    """Most likely languages first; empty when the text has no letters to judge."""
    if not any(ch.isalpha() for ch in text):
        return []
    values = _detector().compute_language_confidence_values(text)
    return [
        Detection(
            v.language.name.title(), v.language.iso_code_639_1.name.lower(), round(v.value, 3)
        )
        for v in values[:top]
        if v.value > 0
    ]


def detect_sections(text: str) -> list[tuple[str, str]]:
    """(language, passage) for each single-language stretch of mixed-language text."""
    results = _detector().detect_multiple_languages_of(text)
    return [
        (r.language.name.title(), text[r.start_index : r.end_index].strip())
        for r in results
        if text[r.start_index : r.end_index].strip()
    ]
