"""Read the one service of an agent's docker-compose file that matters to Nasiko."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from nasiko.core.packaging.dockerfile import substitute
from nasiko.errors import InvalidPackage

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class ComposeService(BaseModel):
    file: str = Field(description="Compose file name inside the package.")
    service: str = Field(description="Service name.")
    container_name: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    memory_mb: int | None = None
    cpus: float | None = None
    ports: list[str] = Field(default_factory=list)


def find_compose_file(root: Path) -> Path | None:
    for name in COMPOSE_FILES:
        if (root / name).is_file():
            return root / name
    return None


def _err(file: str, message: str, **details: Any) -> InvalidPackage:
    return InvalidPackage(f"{file}: {message}", details={"file": file, **details})


def parse_memory_mb(value: object, *, file: str, field: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(1, int(value) // 1024**2)
    m = _MEM.match(str(value))
    if not m:
        raise _err(file, f"{field} '{value}' is not a size; write e.g. '512m' or '1g'", field=field)
    return max(1, int(float(m.group(1)) * _UNITS[m.group(2).lower()]) // 1024**2)


def _parse_cpus(value: object, *, file: str, field: str) -> float:
    try:
        cpus = float(str(value))
    except ValueError:
        cpus = -1.0
    if cpus <= 0:
        raise _err(file, f"{field} '{value}' must be a positive number, e.g. 0.5", field=field)
    return cpus


def _dotenv(root: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    path = root / ".env"
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.removeprefix("export ").partition("=")
                env[key.strip()] = value.strip().strip("\"'")
    return env


def _command(value: object, *, file: str, field: str) -> list[str]:
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise _err(file, f"{field} must be a string or a list of strings", field=field)


def parse_compose(path: Path, *, folder_name: str | None) -> ComposeService:
    """Pick the agent's service and read environment, command and limits from it.

    ``folder_name`` None skips the container_name check (the runtime re-reading a package
    that was validated before, from a folder with another name).
    """
    import yaml

    file = path.name
    root = path.parent
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise _err(file, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not services:
        raise _err(
            file, "no 'services' section; define one service for the agent", field="services"
        )

    if folder_name is not None and folder_name in services:
        name = folder_name
    elif len(services) == 1:
        name = next(iter(services))
    else:
        by_container = [
            s
            for s, spec in services.items()
            if isinstance(spec, dict) and spec.get("container_name") == folder_name
        ]
        if folder_name is None:
            by_container = [s for s, spec in services.items() if isinstance(spec, dict)][:1]
        if len(by_container) != 1:
            raise _err(
                file,
                f"{len(services)} services and none is named '{folder_name}'; name the agent's "
                f"service (or its container_name) after the folder",
                field="services",
                services=sorted(services),
            )
        name = by_container[0]
    spec = services[name]
    if not isinstance(spec, dict):
        raise _err(file, f"service '{name}' must be a mapping", field=f"services.{name}")

    variables = _dotenv(root)
    container_name = spec.get("container_name")
    if container_name is not None:
        container_name = substitute(str(container_name), variables)
        if folder_name is not None and container_name != folder_name:
            raise _err(
                file,
                f"service '{name}' has container_name '{container_name}'; it must match the "
                f"folder name '{folder_name}'",
                field=f"services.{name}.container_name",
                expected=folder_name,
            )

    env: dict[str, str] = {}
    raw_env = spec.get("environment") or {}
    if isinstance(raw_env, list):
        for item in raw_env:
            key, eq, value = str(item).partition("=")
            if eq:
                env[key] = substitute(value, variables)
            elif key in variables:
                env[key] = variables[key]
    elif isinstance(raw_env, dict):
        for key, value in raw_env.items():
            if value is not None:
                env[str(key)] = substitute(str(value), variables)
    else:
        raise _err(
            file, "environment must be a list or a mapping", field=f"services.{name}.environment"
        )

    result = ComposeService(file=file, service=name, container_name=container_name, environment=env)
    for key in ("command", "entrypoint"):
        if spec.get(key) is not None:
            argv = _command(spec[key], file=file, field=f"services.{name}.{key}")
            setattr(result, key, [substitute(a, variables) for a in argv])

    limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    memory = spec.get("mem_limit", limits.get("memory"))
    if memory is not None:
        field = "mem_limit" if "mem_limit" in spec else "deploy.resources.limits.memory"
        result.memory_mb = parse_memory_mb(memory, file=file, field=f"services.{name}.{field}")
    cpus = spec.get("cpus", limits.get("cpus"))
    if cpus is not None:
        field = "cpus" if "cpus" in spec else "deploy.resources.limits.cpus"
        result.cpus = _parse_cpus(cpus, file=file, field=f"services.{name}.{field}")
    result.ports = [str(p) for p in spec.get("ports") or []]
    return result
