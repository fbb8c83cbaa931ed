"""Package validation: the layouts, the derived process plan, and precise errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nasiko.core.packaging import inspect_package
from nasiko.errors import InvalidPackage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agents"


@pytest.fixture
def echo(tmp_path: Path) -> Path:
    dst = tmp_path / "echo-agent"
    shutil.copytree(FIXTURES / "echo-agent", dst)
    return dst


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_seed_layout_fixture() -> None:
    info = inspect_package(FIXTURES / "echo-agent")
    assert info.layout == "seed"
    assert info.name == "echo-agent"
    assert info.card_file == "AgentCard.json" and info.card["name"] == "Echo Agent"
    assert info.compose is not None and info.compose.container_name == "echo-agent"
    assert (info.memory_mb, info.cpus, info.port) == (256, 0.5, 5000)
    assert info.env == {"PORT": "5000", "ECHO_GREETING": "hello from compose"}
    assert info.process.command == ["python", "src/main.py"]
    assert info.process.workdir == FIXTURES / "echo-agent"  # /app holds src/ -> package root
    assert info.process.env["ECHO_PREFIX"] == "echo"
    assert info.python and info.dependencies == "requirements.txt"
    assert info.warnings == []


def test_plain_fixtures() -> None:
    plain = inspect_package(FIXTURES / "plain-agent")
    assert plain.layout == "plain" and plain.card is None and plain.compose is None
    assert plain.dependencies == "pyproject.toml"
    assert plain.process.command[:2] == ["/bin/sh", "-c"]
    # $APP_HOME=/srv/agent is where `COPY . .` put the package.
    assert plain.process.env["PYTHONPATH"] == str(FIXTURES / "plain-agent")
    fixed = inspect_package(FIXTURES / "fixed-port-agent")
    assert fixed.process.command == ["python", str(FIXTURES / "fixed-port-agent" / "server.py")]
    assert fixed.port == 47613


def test_workdir_maps_to_copied_folder(tmp_path: Path) -> None:
    root = make(
        tmp_path / "a",
        {
            "Dockerfile": "FROM python\nWORKDIR /app\nCOPY src/ /app\n"
            "ENV PYTHONPATH=/app:/app/lib\n"
            'CMD ["python", "/app/main.py", "--config=/app/conf.yml"]\n',
            "src/main.py": "",
        },
    )
    info = inspect_package(root)
    src = tmp_path / "a" / "src"
    assert info.process.workdir == src
    assert info.process.command == ["python", str(src / "main.py"), f"--config={src}/conf.yml"]
    assert info.process.env["PYTHONPATH"] == f"{src}:{src}/lib"


def test_unmapped_workdir_warns(tmp_path: Path) -> None:
    root = make(tmp_path / "a", {"Dockerfile": "FROM x\nWORKDIR /opt/x\nCMD run\n"})
    info = inspect_package(root)
    assert info.process.workdir == root
    assert "WORKDIR /opt/x does not map" in info.warnings[0]


def test_missing_copy_source_warns(tmp_path: Path) -> None:
    root = make(tmp_path / "a", {"Dockerfile": "FROM x\nCOPY nope.txt /app/\nCMD run\n"})
    assert inspect_package(root).warnings == [
        "Dockerfile line 2: COPY source 'nope.txt' is not in the package"
    ]


def test_no_dockerfile(tmp_path: Path) -> None:
    root = make(tmp_path / "a", {"main.py": ""})
    with pytest.raises(InvalidPackage, match=r"^no Dockerfile at the package root") as err:
        inspect_package(root)
    assert err.value.details["file"] == "Dockerfile"
    make(root, {"dockerfile": "FROM x\n"})
    with pytest.raises(InvalidPackage, match="found 'dockerfile'; rename it to 'Dockerfile'"):
        inspect_package(root)


def test_no_cmd(tmp_path: Path) -> None:
    root = make(tmp_path / "a", {"Dockerfile": "FROM python\nCOPY . /app\n"})
    with pytest.raises(InvalidPackage) as err:
        inspect_package(root)
    assert err.value.message == (
        "Dockerfile has no CMD or ENTRYPOINT; add one or set [agent].command in nasiko.toml"
    )
    assert err.value.details["field"] == "CMD"


def test_container_name_mismatch(echo: Path) -> None:
    compose = echo / "docker-compose.yml"
    compose.write_text(
        compose.read_text().replace("container_name: echo-agent", "container_name: bar")
    )
    with pytest.raises(InvalidPackage) as err:
        inspect_package(echo)
    assert err.value.message == (
        "docker-compose.yml: service 'echo-agent' has container_name 'bar'; "
        "it must match the folder name 'echo-agent'"
    )
    assert err.value.details["field"] == "services.echo-agent.container_name"
    # The runtime re-reads validated packages from folders with other names.
    assert inspect_package(echo, check_names=False).compose.container_name == "bar"


def test_name_argument_overrides_folder(echo: Path, tmp_path: Path) -> None:
    upload = tmp_path / "upl_123"
    echo.rename(upload)
    with pytest.raises(InvalidPackage, match="folder name 'upl_123'"):
        inspect_package(upload)
    assert inspect_package(upload, name="echo-agent").name == "echo-agent"


def test_compose_errors(echo: Path) -> None:
    compose = echo / "docker-compose.yml"
    compose.write_text("services:\n  echo-agent:\n    image: [unclosed\n")
    with pytest.raises(InvalidPackage, match=r"docker-compose.yml: invalid YAML at line \d+"):
        inspect_package(echo)
    compose.write_text("services:\n  echo-agent:\n    mem_limit: lots\n")
    with pytest.raises(InvalidPackage) as err:
        inspect_package(echo)
    assert "mem_limit 'lots' is not a size" in err.value.message
    assert err.value.details["field"] == "services.echo-agent.mem_limit"
    compose.write_text("version: '3'\n")
    with pytest.raises(InvalidPackage, match="no 'services' section"):
        inspect_package(echo)
    compose.write_text("services:\n  a: {}\n  b: {}\n")
    with pytest.raises(InvalidPackage, match="2 services and none is named 'echo-agent'"):
        inspect_package(echo)


def test_compose_command_env_and_limits(echo: Path) -> None:
    (echo / ".env").write_text("MODEL=small\n")
    (echo / "docker-compose.yml").write_text(
        "services:\n  echo-agent:\n    container_name: echo-agent\n"
        "    command: python src/main.py --verbose\n"
        "    environment:\n      MODEL_NAME: ${MODEL}\n      DEFAULTED: ${NOT_SET:-yes}\n"
        "    deploy:\n      resources:\n        limits:\n"
        "          memory: 1g\n          cpus: '1.5'\n"
    )
    info = inspect_package(echo)
    assert info.process.command == ["python", "src/main.py", "--verbose"]
    assert info.process.source == "compose"
    assert info.env == {"MODEL_NAME": "small", "DEFAULTED": "yes"}
    assert (info.memory_mb, info.cpus) == (1024, 1.5)


def test_card_errors(echo: Path) -> None:
    (echo / "AgentCard.json").write_text('{"name": "x",\n  "skills": [}\n')
    with pytest.raises(
        InvalidPackage, match=r"AgentCard.json: invalid JSON at line 2 column \d+"
    ) as err:
        inspect_package(echo)
    assert err.value.details["line"] == 2
    (echo / "AgentCard.json").write_text("[1, 2]")
    with pytest.raises(InvalidPackage, match="must be a JSON object"):
        inspect_package(echo)


def test_capabilities_json_accepted(echo: Path) -> None:
    (echo / "AgentCard.json").rename(echo / "capabilities.json")
    info = inspect_package(echo)
    assert info.card_file == "capabilities.json" and info.layout == "seed"


def test_nasiko_toml_overrides(echo: Path) -> None:
    (echo / "nasiko.toml").write_text(
        '[agent]\ncommand = "python -m echo --fast"\nport = 7000\nworkdir = "src"\n'
        'env = { ECHO_PREFIX = "toml" }\n'
    )
    info = inspect_package(echo)
    assert info.process.source == "nasiko.toml"
    assert info.process.command == ["python", "-m", "echo", "--fast"]
    assert info.process.workdir == echo.resolve() / "src"
    assert info.process.env["ECHO_PREFIX"] == "toml"
    assert info.port == 7000


def test_nasiko_toml_errors(echo: Path) -> None:
    toml = echo / "nasiko.toml"
    toml.write_text("[agent]\nport = 'eighty'\n")
    with pytest.raises(InvalidPackage, match=r"nasiko.toml: \[agent.port\]") as err:
        inspect_package(echo)
    assert err.value.details["field"] == "agent.port"
    toml.write_text("[agent]\ncommand = []\n")
    with pytest.raises(InvalidPackage, match="command is empty"):
        inspect_package(echo)
    toml.write_text('[agent]\ncommand = ["x"]\nworkdir = "../.."\n')
    with pytest.raises(InvalidPackage, match="is not a folder in the package"):
        inspect_package(echo)
    toml.write_text("[agent\n")
    with pytest.raises(InvalidPackage, match=r"^nasiko\.toml: "):
        inspect_package(echo)
