from __future__ import annotations

import numpy as np

from nasiko.core.routing.lexical import LexicalIndex, tokenize
from nasiko.core.routing.stemmer import stem


def test_stemmer_joins_inflections() -> None:
    assert stem("booking") == stem("booked") == stem("books") == "book"
    assert stem("reservation") == stem("reserve") == stem("reserving")
    assert stem("buses") == stem("bus")
    assert stem("flights") == "flight"
    assert stem("restaurants") == stem("restaurant")


def test_tokenize_splits_identifiers_and_drops_filler() -> None:
    assert tokenize("Could you please FindBus tickets for Banks_1 on 3 May?") == [
        "find",
        "bus",
        "ticket",
        "bank",
        "may",
    ]


def _fields(name: str, description: str) -> dict[str, list[str]]:
    return {"name": [name], "description": [description]}


def test_bm25_prefers_field_matches_and_stems() -> None:
    index = LexicalIndex()
    index.upsert(0, _fields("Hotel Booker", "reserve rooms in hotels"))
    index.upsert(1, _fields("Flight Finder", "search cheap flights"))
    index.upsert(2, _fields("Music", "play songs"))
    scores, ceiling = index.score("I am booking a hotel room", 3)
    assert int(np.argmax(scores)) == 0
    assert scores[1] == scores[2] == 0.0
    assert 0 < scores[0] <= ceiling


def test_unknown_words_lower_the_coverage() -> None:
    index = LexicalIndex()
    index.upsert(0, _fields("Party Planner", "plan a party"))
    index.upsert(1, _fields("Weather", "forecast"))
    focused, ceiling_a = index.score("party", 2)
    diluted, ceiling_b = index.score("riddles for a party with unicorns", 2)
    assert focused[0] / ceiling_a > diluted[0] / ceiling_b


def test_update_and_remove_are_incremental() -> None:
    index = LexicalIndex()
    index.upsert(0, _fields("Alpha", "trains and railways"))
    index.upsert(1, _fields("Beta", "boats"))
    assert index.score("train", 2)[0][0] > 0
    index.upsert(0, _fields("Alpha", "bicycles"))
    assert index.score("train", 2)[0][0] == 0
    assert index.score("bicycle", 2)[0][0] > 0
    index.remove(1)
    assert len(index) == 1
    assert index.score("boats", 2)[0][1] == 0
    index.remove(1)  # removing twice is harmless
