"""Build contexts for the docker runtime: a private copy of the package with its ``FROM`` lines
pointed at the images this engine has.

The agent's own files are never edited: the package is copied, and only the copy's Dockerfile is
rewritten. Two things change in it:

- a base image named in the *base image map* is replaced (``python:3.12-slim`` →
  ``nasiko/python-base:bookworm``), so public Dockerfiles build where no registry is reachable.
  Keys are exact names or ``fnmatch`` patterns (``python:3.*-slim``, ``python:*``); the first
  matching key, in the map's order, wins;
- ``ARG`` lines for the pip variables the runtime passes as build arguments are declared after
  every ``FROM``, so ``RUN pip install …`` sees them (a build argument reaches ``RUN`` only once
  its stage declares it, and is not kept in the image's environment).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nasiko.core.packaging.dockerfile import substitute
from nasiko.errors import ConfigurationError, InvalidPackage

# FROM [--platform=…] image [AS name]
_FROM = re.compile(
    r"^(?P<lead>\s*FROM\s+(?:--\S+\s+)*)(?P<image>\S+)(?P<rest>(?:\s+AS\s+(?P<name>\S+))?\s*)$",
    re.IGNORECASE,
)
_ARG = re.compile(r"^\s*ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<value>.*))?$", re.I)
IGNORED_NAMES = (".git",)


@dataclass(slots=True)
class BuildContext:
    path: Path
    dockerfile: str  # the rewritten text
    bases: list[str] = field(default_factory=list)  # external base images, after mapping
    substituted: dict[str, str] = field(default_factory=dict)  # original -> replacement


def parse_base_image_map(text: str | None) -> dict[str, str]:
    """``{"python:3.11-slim": "nasiko/python-base:bookworm"}`` from JSON or ``a=b,c=d``."""
    if not text or not text.strip():
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"base image map is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ConfigurationError("base image map must be a JSON object of strings")
        return dict(data)
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(
                f"base image map entry '{item.strip()}' must look like 'python:3.12-slim=IMAGE'"
            )
        out[key.strip()] = value.strip()
    return out


def map_base(image: str, mapping: Mapping[str, str]) -> str | None:
    """The replacement for ``image``, or None when no key matches."""
    if image in mapping:
        return mapping[image]
    for key, value in mapping.items():
        if any(c in key for c in "*?[") and fnmatch.fnmatchcase(image, key):
            return value
    # "python" means "python:latest" to the engine.
    if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
        return map_base(f"{image}:latest", mapping)
    return None


def rewrite_dockerfile(
    text: str,
    mapping: Mapping[str, str],
    *,
    build_args: Mapping[str, str] | None = None,
    declare_args: Sequence[str] = (),
) -> BuildContext:
    """The rewritten Dockerfile (``path`` left empty); see the module docstring."""
    global_args: dict[str, str] = {}
    given = dict(build_args or {})
    stages: set[str] = set()
    out: list[str] = []
    ctx = BuildContext(path=Path(), dockerfile="")
    seen_from = False
    for line in text.splitlines():
        m = _FROM.match(line)
        if m is None:
            arg = _ARG.match(line) if not seen_from else None
            if arg is not None:
                value = (arg.group("value") or "").strip().strip("\"'")
                global_args[arg.group("name")] = given.get(arg.group("name"), value)
            out.append(line)
            continue
        seen_from = True
        raw_image = m.group("image")
        image = substitute(raw_image, global_args)
        if image.lower() in stages or image == "scratch":
            out.append(line)
        else:
            replacement = map_base(image, mapping)
            if replacement is not None:
                ctx.substituted[image] = replacement
                out.append(f"{m.group('lead')}{replacement}{m.group('rest')}")
                image = replacement
            else:
                out.append(line)
            if image not in ctx.bases:
                ctx.bases.append(image)
        if m.group("name"):
            stages.add(m.group("name").lower())
        out.extend(f"ARG {name}" for name in declare_args)
    if not seen_from:
        raise InvalidPackage(
            "Dockerfile has no FROM line", details={"file": "Dockerfile", "field": "FROM"}
        )
    ctx.dockerfile = "\n".join(out) + "\n"
    return ctx


def prepare_context(
    source_dir: Path,
    dest: Path,
    mapping: Mapping[str, str],
    *,
    build_args: Mapping[str, str] | None = None,
    declare_args: Sequence[str] = (),
) -> BuildContext:
    """Copy ``source_dir`` to ``dest`` (replaced if present) and rewrite the copy's Dockerfile."""
    dockerfile = source_dir / "Dockerfile"
    if not dockerfile.is_file():
        raise InvalidPackage("no Dockerfile at the package root", details={"file": "Dockerfile"})
    ctx = rewrite_dockerfile(
        dockerfile.read_text(encoding="utf-8"),
        mapping,
        build_args=build_args,
        declare_args=declare_args,
    )
    if dest.exists():
        shutil.rmtree(dest)
    # Links are copied as links: the engine, not this copy, decides what a context may hold.
    shutil.copytree(source_dir, dest, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED_NAMES))
    (dest / "Dockerfile").write_text(ctx.dockerfile, encoding="utf-8")
    ctx.path = dest
    return ctx
