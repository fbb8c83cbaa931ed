"""Map container paths of a Dockerfile back to the package folder.

The process runtime runs an agent straight from its package, so ``WORKDIR /app`` and
``CMD ["python", "/app/main.py"]`` need host paths. The rule, from the final stage's
``COPY``/``ADD`` lines (copies from other stages are ignored):

- ``COPY <dir> <dest>`` copies the folder's *contents*, so ``<dest>`` maps to ``<dir>``
  (``COPY . /app`` maps ``/app`` to the package root, ``COPY src/ /app`` maps it to ``src/``);
- ``COPY <file> <dest>`` maps ``<dest>`` (or ``<dest>/<name>`` when dest ends with ``/`` or
  several sources are given) to the file;
- a container path maps through the longest mapped prefix; a path that is an *ancestor* of a
  mapping maps when the tails agree (``COPY src /app/src`` implies ``/app`` is the package root);
- the working directory falls back to the package root when nothing maps.
"""

from __future__ import annotations

import glob
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from nasiko.core.packaging.dockerfile import Copy

_GLOB_CHARS = set("*?[")
_ABS_TOKEN = re.compile(r"(?<![\w.$/-])(/[^\s'\";:|&<>()]+)")


@dataclass(slots=True, frozen=True)
class Mapping:
    container: str  # normalised absolute container path
    package: str  # posix path relative to the package root ("" = the root)
    is_dir: bool


class PathMap:
    def __init__(self, mappings: list[Mapping]) -> None:
        # Longest container path first so the most specific mapping wins.
        self.mappings = sorted(mappings, key=lambda m: len(m.container), reverse=True)

    @classmethod
    def from_copies(cls, copies: list[Copy], root: Path) -> tuple[PathMap, list[str]]:
        """Build the map; also returns warnings for sources missing from the package."""
        mappings: list[Mapping] = []
        warnings: list[str] = []
        for copy in copies:
            dest_is_dir = copy.dest.endswith("/") or len(copy.sources) > 1
            dest = posixpath.normpath(copy.dest)
            for raw in copy.sources:
                if "://" in raw:
                    continue  # ADD <url>
                src = posixpath.normpath(raw.lstrip("/")) if raw not in (".", "./") else "."
                matches = (
                    sorted(glob.glob(src, root_dir=root))
                    if _GLOB_CHARS & set(src)
                    else ([src] if (root / src).exists() else [])
                )
                if not matches:
                    warnings.append(
                        f"Dockerfile line {copy.line}: COPY source '{raw}' is not in the package"
                    )
                    continue
                for match in matches:
                    rel = "" if match == "." else Path(match).as_posix()
                    if (root / match).is_dir():
                        mappings.append(Mapping(dest, rel, True))
                    else:
                        target = (
                            posixpath.join(dest, posixpath.basename(rel))
                            if dest_is_dir or len(matches) > 1
                            else dest
                        )
                        mappings.append(Mapping(target, rel, False))
        return cls(mappings), warnings

    def to_package(self, container_path: str) -> str | None:
        """Relative package path for an absolute container path, or None."""
        path = posixpath.normpath(container_path)
        for m in self.mappings:
            if path == m.container:
                return m.package
            if m.is_dir and path.startswith(m.container.rstrip("/") + "/"):
                rest = path[len(m.container.rstrip("/")) + 1 :]
                return posixpath.join(m.package, rest) if m.package else rest
        for m in self.mappings:
            prefix = path.rstrip("/") + "/"
            if m.container.startswith(prefix):
                tail = m.container[len(prefix) :]
                if m.package == tail:
                    return ""
                if m.package.endswith("/" + tail):
                    return m.package[: -len(tail) - 1]
        return None

    def host_path(self, container_path: str, root: Path) -> Path | None:
        rel = self.to_package(container_path)
        return None if rel is None else (root / rel if rel else root)

    def translate_arg(self, arg: str, root: Path) -> str:
        """Rewrite an absolute container path (also ``--opt=/path``) to the host path."""
        if arg.startswith("/"):
            host = self.host_path(arg, root)
            return str(host) if host is not None else arg
        if arg.startswith("-") and "=/" in arg:
            opt, _, value = arg.partition("=")
            host = self.host_path(value, root)
            return f"{opt}={host}" if host is not None else arg
        return arg

    def translate_text(self, text: str, root: Path) -> str:
        """Rewrite absolute container paths inside a shell string or a PATH-like value."""

        def _one(m: re.Match[str]) -> str:
            host = self.host_path(m.group(1), root)
            return str(host) if host is not None else m.group(1)

        return _ABS_TOKEN.sub(_one, text)
