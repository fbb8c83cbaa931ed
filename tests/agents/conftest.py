"""Fixtures for the sample-agent tests.

pytest puts this folder on ``sys.path`` when it loads this conftest (rootdir-relative
"prepend" import mode), so test modules in the per-agent folders import ``agent_harness``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from agent_harness import AgentProcess

from nasiko.testing.fake_llm import FakeLLM


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def start_agent() -> Iterator[Callable[..., AgentProcess]]:
    """Start agents by slug with extra environment; every one is stopped by PID afterwards."""
    started: list[AgentProcess] = []

    def start(slug: str, env: dict[str, str] | None = None) -> AgentProcess:
        agent = AgentProcess(slug, env)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()
