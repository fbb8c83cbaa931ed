from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nasiko.client import NasikoClient
from nasiko.testing.packages import deploy_settings
from nasiko.testing.platform import PlatformThread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


@pytest.fixture
def deploy_platform(tmp_path: Path) -> Iterator[PlatformThread]:
    with PlatformThread(deploy_settings(tmp_path / "data"), ["api", "gateway", "worker"]) as p:
        yield p


@pytest.fixture
def admin(deploy_platform: PlatformThread) -> Iterator[NasikoClient]:
    with NasikoClient(deploy_platform.api_url) as client:
        client.login("admin", "admin-password-1")
        yield client
