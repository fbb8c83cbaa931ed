"""Entry point: ``python -m src.main`` from the package root serves the agent on $PORT."""

from pathlib import Path

from .a2a_app import serve
from .agent import GitHubExecutor
from .llm import model_from_env


def main() -> None:
    serve(
        lambda: GitHubExecutor(model_from_env()),
        package_dir=Path(__file__).resolve().parent.parent,
        default_port=8002,
    )


if __name__ == "__main__":
    main()
