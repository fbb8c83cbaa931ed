"""Validate an extracted agent package and describe how to run it.

Two layouts are accepted (see docs/agent-contract.md):

- the seed layout: ``Dockerfile``, ``docker-compose.yml`` whose service's ``container_name`` is
  the folder name, ``AgentCard.json`` or ``capabilities.json``, and ``src/``;
- the plain contract: any folder with a ``Dockerfile`` whose process serves A2A on ``$PORT`` and
  answers ``/.well-known/agent-card.json``.

How the agent's process is started, first match wins: ``[agent].command`` in ``nasiko.toml``; the
compose service's ``entrypoint``/``command`` over the Dockerfile's; the Dockerfile's
``ENTRYPOINT``/``CMD``. Container paths are mapped back to the package (see ``pathmap``).
"""

from __future__ import annotations

import json
import posixpath
import shlex
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from nasiko.core.packaging.compose import ComposeService, find_compose_file, parse_compose
from nasiko.core.packaging.dockerfile import DockerfileInfo, parse_dockerfile
from nasiko.core.packaging.pathmap import PathMap
from nasiko.errors import InvalidPackage

CARD_FILES = ("AgentCard.json", "capabilities.json", "agent-card.json")
MAX_META_BYTES = 1024 * 1024
PYTHON_TOOLS = {"uvicorn", "gunicorn", "hypercorn", "fastapi", "flask", "granian", "adk", "pip"}
# Variables the process runtime manages itself; a Dockerfile's values would break the host.
_HOST_MANAGED_ENV = {"PATH", "HOME", "HOSTNAME", "PYTHONHOME", "VIRTUAL_ENV", "PWD"}


class ProcessPlan(BaseModel):
    """How to run the agent's process straight from the package folder."""

    command: list[str] = Field(description="argv; bare tool names are resolved by the runtime.")
    workdir: Path = Field(description="Absolute working directory inside the package.")
    env: dict[str, str] = Field(default_factory=dict)
    source: Literal["nasiko.toml", "compose", "Dockerfile"]


class PackageInfo(BaseModel):
    root: Path
    name: str = Field(description="The package's folder name (the agent's default slug).")
    layout: Literal["seed", "plain"]
    base_image: str
    expose: list[int] = Field(default_factory=list)
    card_file: str | None = None
    card: dict[str, Any] | None = Field(None, description="The raw card file, not normalised.")
    compose: ComposeService | None = None
    python: bool = False
    dependencies: Literal["requirements.txt", "pyproject.toml"] | None = None
    process: ProcessPlan
    port: int | None = Field(None, description="Port the agent listens on inside its container.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment from compose and nasiko.toml (not image)."
    )
    memory_mb: int | None = None
    cpus: float | None = None
    warnings: list[str] = Field(default_factory=list)


def _read(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    if path.stat().st_size > MAX_META_BYTES:
        raise InvalidPackage(f"{rel} is larger than {MAX_META_BYTES} bytes", details={"file": rel})
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPackage(f"{rel} is not UTF-8 text", details={"file": rel}) from exc


def _load_card(root: Path) -> tuple[str | None, dict[str, Any] | None]:
    for name in CARD_FILES:
        path = root / name
        if path.is_file():
            try:
                card = json.loads(_read(path, root))
            except json.JSONDecodeError as exc:
                raise InvalidPackage(
                    f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                    details={"file": name, "line": exc.lineno, "column": exc.colno},
                ) from exc
            if not isinstance(card, dict):
                raise InvalidPackage(
                    f"{name}: must be a JSON object (an A2A agent card)", details={"file": name}
                )
            return name, card
    return None, None


class _Toml(BaseModel):
    command: list[str] | None = None
    port: int | None = None
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None


def _load_toml(root: Path) -> _Toml | None:
    path = root / "nasiko.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(_read(path, root))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPackage(f"nasiko.toml: {exc}", details={"file": "nasiko.toml"}) from exc
    agent = data.get("agent", {})
    if not isinstance(agent, dict):
        raise InvalidPackage(
            "nasiko.toml: [agent] must be a table",
            details={"file": "nasiko.toml", "field": "agent"},
        )
    command = agent.get("command")
    if isinstance(command, str):
        agent = {**agent, "command": shlex.split(command)}
    try:
        parsed = _Toml.model_validate(agent)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "agent." + ".".join(str(p) for p in first["loc"])
        raise InvalidPackage(
            f"nasiko.toml: [{where}] {first['msg']}",
            details={"file": "nasiko.toml", "field": where, "errors": exc.errors()},
        ) from exc
    if parsed.command is not None and not parsed.command:
        raise InvalidPackage(
            "nasiko.toml: [agent].command is empty; give the program and its arguments",
            details={"file": "nasiko.toml", "field": "agent.command"},
        )
    return parsed


def _find_dockerfile(root: Path) -> Path:
    path = root / "Dockerfile"
    if path.is_file():
        return path
    others = sorted(
        p.name for p in root.iterdir() if p.is_file() and p.name.lower().startswith("dockerfile")
    )
    hint = (
        f"found '{others[0]}'; rename it to 'Dockerfile'"
        if others
        else "add a Dockerfile that starts the agent's A2A server on $PORT"
    )
    raise InvalidPackage(
        f"no Dockerfile at the package root; {hint}", details={"file": "Dockerfile", "hint": hint}
    )


def _container_command(
    docker: DockerfileInfo, compose: ComposeService | None
) -> tuple[list[str] | None, Literal["compose", "Dockerfile"]]:
    if compose is None or (compose.command is None and compose.entrypoint is None):
        return docker.command(), "Dockerfile"
    entrypoint = compose.entrypoint
    entry_shell = False
    if entrypoint is None and docker.entrypoint is not None:
        entrypoint, entry_shell = docker.entrypoint, docker.entrypoint_shell
    cmd = compose.command
    if cmd is None and compose.entrypoint is None and docker.cmd is not None:
        cmd = [*docker.shell, docker.cmd[0]] if docker.cmd_shell else docker.cmd
    if entrypoint is not None:
        if entry_shell:
            return [*docker.shell, entrypoint[0]], "compose"
        return [*entrypoint, *(cmd or [])], "compose"
    return cmd, "compose"


def _is_python(root: Path, docker: DockerfileInfo, command: list[str]) -> bool:
    if (root / "requirements.txt").is_file() or (root / "pyproject.toml").is_file():
        return True
    if "python" in docker.base_image.lower():
        return True
    prog = posixpath.basename(command[0]) if command else ""
    return prog.startswith("python") or prog in PYTHON_TOOLS


def inspect_package(
    root: Path, *, name: str | None = None, check_names: bool = True
) -> PackageInfo:
    """Validate the package in ``root``; ``name`` is its folder name (default ``root.name``).

    Pass the folder name the user chose (e.g. ``ExtractResult.top_level``) when ``root`` is a
    temporary upload directory. ``check_names=False`` skips the compose ``container_name``
    check (for re-reading an already validated package). Raises ``InvalidPackage`` naming the
    file, field and fix.
    """
    root = root.resolve()
    folder = name or root.name
    warnings: list[str] = []
    dockerfile = _find_dockerfile(root)
    docker = parse_dockerfile(_read(dockerfile, root))

    compose_path = find_compose_file(root)
    compose = (
        parse_compose(compose_path, folder_name=folder if check_names else None)
        if compose_path
        else None
    )
    card_file, card = _load_card(root)
    toml = _load_toml(root)

    has_src = (root / "src").is_dir()
    layout: Literal["seed", "plain"] = (
        "seed" if compose is not None and card is not None and has_src else "plain"
    )
    if compose is not None and card is None:
        warnings.append(
            "no AgentCard.json or capabilities.json; the card is read from the running agent"
        )

    pathmap, copy_warnings = PathMap.from_copies(docker.copies, root)
    warnings.extend(copy_warnings)

    extra_env = {**(compose.environment if compose else {}), **(toml.env if toml else {})}
    image_env = {
        key: pathmap.translate_text(value, root)
        for key, value in docker.env.items()
        if key not in _HOST_MANAGED_ENV
    }

    if toml is not None and toml.command is not None:
        workdir = (root / toml.workdir).resolve() if toml.workdir else root
        if not workdir.is_relative_to(root) or not workdir.is_dir():
            raise InvalidPackage(
                f"nasiko.toml: [agent].workdir '{toml.workdir}' is not a folder in the package",
                details={"file": "nasiko.toml", "field": "agent.workdir"},
            )
        plan = ProcessPlan(
            command=list(toml.command),
            workdir=workdir,
            env={**image_env, **extra_env},
            source="nasiko.toml",
        )
    else:
        command, source = _container_command(docker, compose)
        if not command:
            raise InvalidPackage(
                "Dockerfile has no CMD or ENTRYPOINT; "
                "add one or set [agent].command in nasiko.toml",
                details={"file": "Dockerfile", "field": "CMD", "hint": 'CMD ["python", "main.py"]'},
            )
        host_workdir = pathmap.host_path(docker.workdir, root)
        if host_workdir is None or not host_workdir.is_dir():
            if docker.workdir != "/":
                warnings.append(
                    f"WORKDIR {docker.workdir} does not map to a folder of the package; "
                    "the process runs in the package root"
                )
            host_workdir = root
        shell_form = len(command) == 3 and command[:2] == docker.shell
        argv = (
            [*command[:2], pathmap.translate_text(command[2], root)]
            if shell_form
            else [pathmap.translate_arg(a, root) for a in command]
        )
        plan = ProcessPlan(
            command=argv, workdir=host_workdir, env={**image_env, **extra_env}, source=source
        )

    port = toml.port if toml and toml.port else (docker.expose[0] if docker.expose else None)
    dependencies: Literal["requirements.txt", "pyproject.toml"] | None = None
    if (root / "requirements.txt").is_file():
        dependencies = "requirements.txt"
    elif (root / "pyproject.toml").is_file():
        dependencies = "pyproject.toml"

    return PackageInfo(
        root=root,
        name=folder,
        layout=layout,
        base_image=docker.base_image,
        expose=docker.expose,
        card_file=card_file,
        card=card,
        compose=compose,
        python=_is_python(root, docker, plan.command),
        dependencies=dependencies,
        process=plan,
        port=port,
        env=extra_env,
        memory_mb=compose.memory_mb if compose else None,
        cpus=compose.cpus if compose else None,
        warnings=warnings,
    )
