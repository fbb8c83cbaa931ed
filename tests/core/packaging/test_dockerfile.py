"""Reading Dockerfiles without building them."""

from __future__ import annotations

import pytest

from nasiko.core.packaging import parse_dockerfile
from nasiko.core.packaging.dockerfile import substitute
from nasiko.errors import InvalidPackage


def test_exec_form_cmd_and_basics() -> None:
    info = parse_dockerfile(
        'FROM python:3.12-slim\nWORKDIR /app\nENV A=1 B="two words"\nEXPOSE 8000/tcp 9000\n'
        'CMD ["python", "src/main.py"]\n'
    )
    assert info.base_image == "python:3.12-slim"
    assert info.workdir == "/app"
    assert info.env == {"A": "1", "B": "two words"}
    assert info.expose == [8000, 9000]
    assert info.command() == ["python", "src/main.py"]


def test_shell_form_cmd() -> None:
    info = parse_dockerfile("FROM x\nCMD uvicorn app:app --port $PORT\n")
    assert info.cmd_shell
    assert info.command() == ["/bin/sh", "-c", "uvicorn app:app --port $PORT"]


def test_entrypoint_and_cmd_combine() -> None:
    info = parse_dockerfile('FROM x\nENTRYPOINT ["python", "-m"]\nCMD ["agent"]\n')
    assert info.command() == ["python", "-m", "agent"]
    shell_cmd = parse_dockerfile('FROM x\nENTRYPOINT ["tini", "--"]\nCMD run.sh --fast\n')
    assert shell_cmd.command() == ["tini", "--", "/bin/sh", "-c", "run.sh --fast"]
    shell_entry = parse_dockerfile('FROM x\nENTRYPOINT exec python main.py\nCMD ["ignored"]\n')
    assert shell_entry.command() == ["/bin/sh", "-c", "exec python main.py"]


def test_malformed_json_falls_back_to_shell_form() -> None:
    info = parse_dockerfile("FROM x\nCMD [python, main.py]\n")
    assert info.command() == ["/bin/sh", "-c", "[python, main.py]"]


def test_continuations_comments_and_escape_directive() -> None:
    info = parse_dockerfile(
        "FROM x\nENV A=1 \\\n    # a comment inside the continuation\n    B=2\n\n"
        'CMD ["python", \\\n     "main.py"]\n'
    )
    assert info.env == {"A": "1", "B": "2"}
    assert info.command() == ["python", "main.py"]
    backtick = parse_dockerfile("# escape=`\nFROM x\nENV A=1 `\n    B=2\nCMD run\n")
    assert backtick.env == {"A": "1", "B": "2"}


def test_arg_substitution() -> None:
    info = parse_dockerfile(
        "ARG PY=3.11\nFROM python:${PY}-slim\nARG PY\nARG HOME_DIR=/srv\n"
        "ENV APP=$HOME_DIR/app LEGACY_UNSET=${NOPE:-fallback}\nWORKDIR ${APP}\nWORKDIR sub\n"
        "CMD run\n"
    )
    assert info.base_image == "python:3.11-slim"
    assert info.env == {"APP": "/srv/app", "LEGACY_UNSET": "fallback"}
    assert info.workdir == "/srv/app/sub"
    over = parse_dockerfile("ARG PY=3.11\nFROM python:${PY}\nCMD x\n", build_args={"PY": "3.13"})
    assert over.base_image == "python:3.13"


def test_legacy_env_form() -> None:
    info = parse_dockerfile("FROM x\nENV GREETING hello there\nCMD x\n")
    assert info.env == {"GREETING": "hello there"}


def test_multi_stage_last_wins_and_inherits() -> None:
    info = parse_dockerfile(
        "FROM python:3.12 AS build\nWORKDIR /build\nENV STAGE=build\nCOPY . .\n"
        'CMD ["make"]\n'
        "FROM build AS final\nENV MORE=1\n"
        "FROM python:3.12-slim\nCOPY --from=build /build /app\nWORKDIR /app\n"
        'CMD ["python", "main.py"]\n'
    )
    assert info.stages == 3
    assert info.base_image == "python:3.12-slim"
    assert info.env == {}
    assert info.copies == []  # a copy from another stage is not a copy from the package
    inherited = parse_dockerfile(
        'FROM python:3.12 AS base\nENV STAGE=base\nWORKDIR /w\nCMD ["x"]\nFROM base\nENV MORE=1\n'
    )
    assert inherited.env == {"STAGE": "base", "MORE": "1"}
    assert inherited.workdir == "/w" and inherited.command() == ["x"]


def test_heredoc_bodies_are_skipped() -> None:
    info = parse_dockerfile("FROM x\nRUN <<EOF\nCMD not-a-command\nEOF\nCMD real\n")
    assert info.command() == ["/bin/sh", "-c", "real"]


def test_copy_destinations() -> None:
    info = parse_dockerfile(
        "FROM x\nWORKDIR /app\nCOPY requirements.txt .\nCOPY --chown=1000 src/ ./src/\n"
        'COPY ["a b.txt", "/data/"]\nADD . /srv\n'
    )
    assert [(c.sources, c.dest) for c in info.copies] == [
        (("requirements.txt",), "/app/"),
        (("src/",), "/app/src/"),
        (("a b.txt",), "/data/"),
        ((".",), "/srv"),
    ]


def test_errors_name_the_line() -> None:
    with pytest.raises(InvalidPackage, match="no FROM line"):
        parse_dockerfile("# only a comment\n")
    with pytest.raises(InvalidPackage, match="line 1: RUN before the first FROM") as err:
        parse_dockerfile("RUN echo hi\nFROM x\n")
    assert err.value.details["line"] == 1
    with pytest.raises(InvalidPackage, match="line 2: CMD has no command"):
        parse_dockerfile("FROM x\nCMD\n")


def test_substitute() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert substitute("$A-${A}-${B:-d}-${A:+set}-${EMPTY:+x}-\\$A", env) == "1-1-d-set--$A"
