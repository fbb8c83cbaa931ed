from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasiko.client import NasikoClient
from nasiko.settings import Settings
from nasiko.testing.platform import PlatformThread, make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


def deploy_settings(data_dir: Path, **overrides: object) -> Settings:
    # Agent venvs see the test environment's packages: builds are offline and take a second.
    return make_settings(
        data_dir,
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0, "claim_idle_seconds": 2.0},
        **overrides,
    )


@pytest.fixture
def deploy_platform(tmp_path: Path) -> Iterator[PlatformThread]:
    with PlatformThread(deploy_settings(tmp_path / "data"), ["api", "gateway", "worker"]) as p:
        yield p


@pytest.fixture
def admin(deploy_platform: PlatformThread) -> Iterator[NasikoClient]:
    with NasikoClient(deploy_platform.api_url) as client:
        client.login("admin", "admin-password-1")
        yield client


def zip_folder(folder: Path, *, wrap: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(folder).as_posix()
                zf.write(path, f"{wrap}/{rel}" if wrap else rel)
    return buf.getvalue()
