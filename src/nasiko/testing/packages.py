"""Agent packages for tests and benchmarks: zipping a folder, and platform settings under
which deploys build quickly and offline."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from nasiko.settings import Settings
from nasiko.testing.platform import make_settings


def zip_folder(
    folder: Path, *, wrap: str | None = None, replace: dict[str, str] | None = None
) -> bytes:
    """The folder as a zip archive (optionally inside one top folder ``wrap``); ``replace``
    gives new contents for some files, by their path relative to the folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(folder).as_posix()
                name = f"{wrap}/{rel}" if wrap else rel
                if replace and rel in replace:
                    zf.writestr(name, replace[rel])
                else:
                    zf.write(path, name)
    return buf.getvalue()


def deploy_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Agent venvs see the test environment's packages: builds are offline and take a second."""
    return make_settings(
        data_dir,
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0, "claim_idle_seconds": 2.0},
        **overrides,
    )
