"""A small Dockerfile reader: enough to run the image's process without building the image.

It understands line continuations (with the ``# escape=`` directive), comments, heredocs (skipped),
multi-stage builds (the last stage wins; ``FROM <stage>`` inherits), ``ARG`` defaults and
``$VAR``/``${VAR}``/``${VAR:-default}``/``${VAR:+alt}`` substitution, ``ENV`` in both forms,
``WORKDIR`` (relative to the previous one), ``EXPOSE``, ``COPY``/``ADD`` from the build context,
and ``CMD``/``ENTRYPOINT`` in exec (JSON) and shell form. It never runs ``RUN`` lines.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field, replace

from nasiko.errors import InvalidPackage

_VAR = re.compile(
    r"\\\$|\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")


@dataclass(slots=True, frozen=True)
class Copy:
    sources: tuple[str, ...]  # paths in the build context (as written, after substitution)
    dest: str  # absolute container path
    line: int


@dataclass(slots=True)
class Stage:
    base: str
    name: str | None = None
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    cmd: list[str] | None = None
    cmd_shell: bool = False
    entrypoint: list[str] | None = None
    entrypoint_shell: bool = False
    copies: list[Copy] = field(default_factory=list)
    expose: list[int] = field(default_factory=list)
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])


@dataclass(slots=True)
class DockerfileInfo:
    """The final stage of a Dockerfile, as far as running its process is concerned."""

    base_image: str
    workdir: str
    env: dict[str, str]
    cmd: list[str] | None
    entrypoint: list[str] | None
    copies: list[Copy]
    expose: list[int]
    cmd_shell: bool = False
    entrypoint_shell: bool = False
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    stages: int = 1

    def command(self) -> list[str] | None:
        """The argv the container would run (ENTRYPOINT + CMD with Docker's combination rules)."""
        cmd = self.cmd
        if cmd is not None and self.cmd_shell:
            cmd = [*self.shell, cmd[0]]
        if self.entrypoint is not None:
            if self.entrypoint_shell:
                return [*self.shell, self.entrypoint[0]]  # a shell-form ENTRYPOINT ignores CMD
            return [*self.entrypoint, *(cmd or [])]
        return cmd


def substitute(text: str, variables: dict[str, str]) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+alt}``; ``\\$`` is a ``$``."""

    def _one(m: re.Match[str]) -> str:
        if m.group(0) == "\\$":
            return "$"
        name = m.group("braced") or m.group("bare")
        value = variables.get(name, "")
        op = m.group("op")
        if op == "-":
            return value or m.group("word")
        if op == "+":
            return m.group("word") if value else ""
        return value

    return _VAR.sub(_one, text)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines, drop comments and heredoc bodies; returns (first line no, text)."""
    raw = text.splitlines()
    escape = "\\"
    # Parser directives are only honoured before anything else.
    for line in raw:
        m = _DIRECTIVE.match(line.strip())
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            escape = m.group(2)
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    i = 0
    while i < len(raw):
        line = raw[i]
        i += 1
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and buf):
            continue
        if not stripped:
            continue
        if not buf:
            start = i
        if stripped.endswith(escape):
            buf.append(stripped[:-1].rstrip())
            continue
        buf.append(stripped)
        joined = " ".join(b for b in buf if b)
        buf = []
        out.append((start, joined))
        heredoc = (
            _HEREDOC.search(joined)
            if joined.split(None, 1)[0].upper()
            in (
                "RUN",
                "COPY",
                "ADD",
            )
            else None
        )
        if heredoc:
            terminator = heredoc.group(1)
            while i < len(raw) and raw[i].strip() != terminator:
                i += 1
            i += 1
    if buf:
        out.append((start, " ".join(b for b in buf if b)))
    return out


def _exec_or_shell(args: str, line: int, keyword: str) -> tuple[list[str], bool]:
    if args.startswith("["):
        try:
            value = json.loads(args)
        except json.JSONDecodeError:
            value = None  # Docker falls back to shell form for malformed JSON
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, False
    if not args:
        raise InvalidPackage(
            f"Dockerfile line {line}: {keyword} has no command",
            details={"file": "Dockerfile", "line": line, "instruction": keyword},
        )
    return [args], True


def _parse_env(args: str, variables: dict[str, str]) -> dict[str, str]:
    tokens = shlex.split(args, posix=True)
    if tokens and "=" not in tokens[0]:
        # Legacy form: ``ENV KEY the rest of the line``.
        key, _, rest = args.partition(" ")
        return {key: substitute(rest.strip(), variables)}
    result: dict[str, str] = {}
    for token in tokens:
        key, _, value = token.partition("=")
        result[key] = substitute(value, {**variables, **result})
    return result


def _parse_copy(args: str, workdir: str, variables: dict[str, str], line: int) -> Copy | None:
    tokens: list[str]
    rest = args
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name, _, value = flag[2:].partition("=")
        flags[name] = value
        rest = rest.lstrip()
    if "from" in flags:
        return None  # copies from another stage or image, not from the package
    if rest.startswith("["):
        try:
            tokens = json.loads(rest)
        except json.JSONDecodeError:
            tokens = shlex.split(rest)
    else:
        tokens = shlex.split(rest)
    tokens = [substitute(t, variables) for t in tokens]
    if len(tokens) < 2:
        return None
    *sources, dest = tokens
    # A trailing slash, "." or ".." name a folder: sources are copied into it.
    is_dir = dest.endswith("/") or posixpath.basename(dest) in (".", "..")
    if not dest.startswith("/"):
        dest = posixpath.join(workdir, dest)
    dest = posixpath.normpath(dest) + ("/" if is_dir else "")
    return Copy(sources=tuple(sources), dest=dest, line=line)


def parse_dockerfile(text: str, *, build_args: dict[str, str] | None = None) -> DockerfileInfo:
    """Read a Dockerfile's text; raises ``InvalidPackage`` when it has no ``FROM``."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    overrides = build_args or {}
    for line, content in _logical_lines(text):
        keyword, _, args = content.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        stage = stages[-1] if stages else None
        variables = {**global_args, **(stage.args if stage else {}), **(stage.env if stage else {})}
        if keyword == "ARG":
            for token in shlex.split(args):
                name, eq, default = token.partition("=")
                if stage is None:
                    value = overrides.get(name, substitute(default, global_args) if eq else "")
                    global_args[name] = value
                else:
                    value = overrides.get(
                        name, substitute(default, variables) if eq else global_args.get(name, "")
                    )
                    stage.args[name] = value
        elif keyword == "FROM":
            tokens = [t for t in args.split() if not t.startswith("--")]
            if not tokens:
                raise InvalidPackage(
                    f"Dockerfile line {line}: FROM names no image",
                    details={"file": "Dockerfile", "line": line, "instruction": "FROM"},
                )
            base = substitute(tokens[0], global_args)
            stage_name = tokens[2] if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            parent = next((s for s in stages if s.name and s.name == base), None)
            if parent is not None:
                new = replace(
                    parent,
                    name=stage_name,
                    env=dict(parent.env),
                    args={},
                    copies=list(parent.copies),
                    expose=list(parent.expose),
                )
            else:
                new = Stage(base=base, name=stage_name)
            stages.append(new)
        elif stage is None:
            if keyword:
                raise InvalidPackage(
                    f"Dockerfile line {line}: {keyword} before the first FROM",
                    details={"file": "Dockerfile", "line": line, "instruction": keyword},
                )
        elif keyword == "ENV":
            stage.env.update(_parse_env(args, variables))
        elif keyword == "WORKDIR":
            path = substitute(args.strip("\"'"), variables)
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, path))
        elif keyword == "CMD":
            stage.cmd, stage.cmd_shell = _exec_or_shell(args, line, keyword)
        elif keyword == "ENTRYPOINT":
            stage.entrypoint, stage.entrypoint_shell = _exec_or_shell(args, line, keyword)
        elif keyword == "SHELL":
            shell, is_shell = _exec_or_shell(args, line, keyword)
            if not is_shell:
                stage.shell = shell
        elif keyword in ("COPY", "ADD"):
            copy = _parse_copy(args, stage.workdir, variables, line)
            if copy is not None:
                stage.copies.append(copy)
        elif keyword == "EXPOSE":
            for token in args.split():
                port = substitute(token, variables).split("/")[0]
                if port.isdigit():
                    stage.expose.append(int(port))
    if not stages:
        raise InvalidPackage(
            "Dockerfile has no FROM line",
            details={"file": "Dockerfile", "hint": "start it with e.g. FROM python:3.12-slim"},
        )
    final = stages[-1]
    return DockerfileInfo(
        base_image=final.base,
        workdir=final.workdir,
        env=dict(final.env),
        cmd=final.cmd,
        entrypoint=final.entrypoint,
        copies=list(final.copies),
        expose=list(final.expose),
        cmd_shell=final.cmd_shell,
        entrypoint_shell=final.entrypoint_shell,
        shell=list(final.shell),
        stages=len(stages),
    )
