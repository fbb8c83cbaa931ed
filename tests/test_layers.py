"""The dependency direction of docs/architecture.md, checked on the real import graph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "nasiko"
EDGES = {"api", "gateway", "router", "worker", "web", "cli"}
LOWER = {"core", "storage", "runtime", "a2a", "integrations", "observability"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level?) for every nasiko import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nasiko"):
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names if a.name.startswith("nasiko")]
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_edges_do_not_import_each_other_and_core_imports_no_edge() -> None:
    problems = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        owner = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module, at_top in _imports(path):
            target = _part(module)
            if owner in EDGES and target in EDGES and target != owner:
                problems.append(f"{rel}: edge imports edge {module}")
            if owner in LOWER and (target in EDGES or target in {"bootstrap", "allinone"}):
                problems.append(f"{rel}: {owner} imports {module}")
            if owner == "settings" or owner == "errors":
                problems.append(f"{rel}: base module imports {module}")
            if owner == "cli" and at_top and target not in {"cli", "client", "settings", ""}:
                problems.append(f"{rel}: cli imports {module} at top level")
    assert problems == []


def test_every_module_imports_cleanly_in_a_fresh_interpreter() -> None:
    modules = sorted(
        "nasiko." + ".".join(p.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")
        for p in PKG.rglob("*.py")
        if "migrations" not in p.parts and p.name != "__main__.py"
    )
    code = "import importlib,sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    result = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
