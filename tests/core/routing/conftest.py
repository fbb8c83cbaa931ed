from __future__ import annotations

from pathlib import Path

import pytest

from nasiko.core.routing.embedder import Embedder

# CI lays shared/ beside the repository clone, as on developer machines.
DEV_SET = Path(__file__).resolve().parents[3].parent / "shared" / "evals" / "routing" / "dev"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    emb = Embedder()
    emb.warm_up()
    return emb


@pytest.fixture(scope="session")
def dev_set() -> Path:
    assert (DEV_SET / "agents.json").is_file(), f"the routing dev set is missing at {DEV_SET}"
    return DEV_SET
