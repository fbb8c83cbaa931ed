"""Fixtures for the gateway tests (helpers live in gateway_kit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_kit import Gateway, start_gateway

from nasiko.testing.platform import make_settings


@pytest.fixture
def gateway_settings(tmp_path: Path) -> dict[str, Any]:
    """Overrides for the gateway section; tests may change them before `gw` starts."""
    return {}


@pytest.fixture
def gw(tmp_path: Path, gateway_settings: dict[str, Any]) -> Iterator[Gateway]:
    """A live gateway on the embedded (SQLite, in-process) back-end."""
    yield from start_gateway(make_settings(tmp_path / "data", gateway=gateway_settings))
