"""Every sample agent is a self-contained package that follows the agent contract."""

from __future__ import annotations

import ast
import json

import pytest
import yaml
from a2a.types.a2a_pb2 import AgentCard
from agent_harness import AGENTS_DIR
from google.protobuf import json_format

SLUGS = {
    "document-expert": 8001,
    "github-agent": 8002,
    "translator": 8003,
    "compliance-checker": 8004,
}
SHARED = ("a2a_app.py", "llm.py")


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_package_layout_and_contract(slug: str) -> None:
    root = AGENTS_DIR / slug
    for name in (
        "Dockerfile",
        "docker-compose.yml",
        "AgentCard.json",
        "requirements.txt",
        "README.md",
        "src/__init__.py",
        "src/main.py",
    ):
        assert (root / name).is_file(), name
    dockerfile = (root / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim")
    assert "WORKDIR /app" in dockerfile and "pip install" in dockerfile
    assert 'CMD ["python", "-m", "src.main"]' in dockerfile
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    (service,) = compose["services"].values()
    assert service["container_name"] == slug and service["build"] == "."
    port = SLUGS[slug]
    assert service["ports"] == [f"{port}:{port}"] and service["environment"]["PORT"] == str(port)
    assert f"default_port={port}" in (root / "src" / "main.py").read_text()
    assert "a2a-sdk[http-server]" in (root / "requirements.txt").read_text()


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_card_has_descriptive_skills(slug: str) -> None:
    raw = json.loads((AGENTS_DIR / slug / "AgentCard.json").read_text())
    card = json_format.ParseDict(raw, AgentCard())  # strict: no unknown fields
    assert card.capabilities.streaming and len(card.description) > 80
    assert len(card.skills) >= 2
    for skill in card.skills:
        assert len(skill.description) > 60 and len(skill.tags) >= 4, skill.id
        assert 3 <= len(skill.examples) <= 5, skill.id


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_agents_never_import_nasiko(slug: str) -> None:
    for path in (AGENTS_DIR / slug / "src").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "nasiko" for n in names), path


@pytest.mark.parametrize("name", SHARED)
def test_shared_modules_stay_identical(name: str) -> None:
    """Each package carries its own copy; they must not drift apart."""
    copies = {slug: (AGENTS_DIR / slug / "src" / name).read_text() for slug in SLUGS}
    reference = copies["translator"]
    assert [slug for slug, text in copies.items() if text != reference] == []
