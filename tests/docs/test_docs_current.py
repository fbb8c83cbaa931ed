from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_lists_every_setting() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_config_doc.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == gen.render(), "run: python scripts/gen_config_doc.py"


def test_readme_gives_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 run.py up" in readme and "python3 run.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 run.py test" in ci
