from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasiko.testing.platform import PlatformThread, make_settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformThread]:
    """One live embedded platform for the CLI tests of a module."""
    data: Path = tmp_path_factory.mktemp("cli-platform")
    with PlatformThread(make_settings(data), ["api", "gateway", "router", "worker"]) as p:
        yield p


@pytest.fixture
def cli(live: PlatformThread, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NASIKO_API_URL", live.api_url)
    return CliRunner()
