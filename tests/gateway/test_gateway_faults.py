"""Agents failing behind the gateway: killed mid-stream, too slow, replicas down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from a2a.client.errors import A2AClientError
from a2a.utils.errors import A2AError
from gateway_kit import Gateway, collect, reply_text, rpc, sdk_client, user_message

from nasiko.testing.agents import echo_agent, echo_reply
from nasiko.testing.platform import free_port
from nasiko.testing.serving import URL_LINE_PREFIX

_SLOW_STREAM_AGENT = """
import uvicorn
from nasiko.testing.agents import build_echo_app
from nasiko.testing.serving import URL_LINE_PREFIX, bind_socket, socket_url
sock = bind_socket("127.0.0.1", 0)
url = socket_url("127.0.0.1", sock)
app = build_echo_app(name="dying", public_url=url, chunk_delay_ms=50, long_stream_chunks=2000)
print(URL_LINE_PREFIX + url, flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


@contextmanager
def slow_stream_agent() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """An echo agent in a child process whose long stream takes ~100 s (it will be killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_STREAM_AGENT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(URL_LINE_PREFIX), f"agent did not start: {line!r}"
        yield line[len(URL_LINE_PREFIX) :].strip(), proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(("binding", "version"), [("JSONRPC", "1.0"), ("HTTP+JSON", "1.0")])
async def test_agent_killed_mid_stream_gives_a_clean_error(
    gw: Gateway, binding: str, version: str
) -> None:
    with slow_stream_agent() as (url, proc), echo_agent(name="other") as other_url:
        gw.add_agent("dying", url)
        gw.add_agent("other", other_url)
        received: list[str] = []
        async with sdk_client(
            f"{gw.url}/agents/dying/.well-known/agent-card.json",
            binding=binding,
            version=version,
            streaming=True,
            headers=gw.headers("alice"),
        ) as client:
            with pytest.raises((A2AClientError, A2AError)) as caught:
                async for event in client.send_message(user_message("a long story")):
                    if event.HasField("artifact_update"):
                        received.extend(p.text for p in event.artifact_update.artifact.parts)
                    if len(received) == 3:
                        os.kill(proc.pid, signal.SIGKILL)
        assert "broke off the stream" in str(caught.value)
        assert received[:3] == ["chunk 00000\n", "chunk 00001\n", "chunk 00002\n"]

        # The gateway keeps serving other agents.
        async with sdk_client(
            f"{gw.url}/agents/other/.well-known/agent-card.json",
            binding="JSONRPC",
            version="1.0",
            streaming=True,
            headers=gw.headers("alice"),
        ) as client:
            events = await collect(client, user_message("still there?"))
        assert reply_text(events) == echo_reply("other", "still there?")

    entries = gw.sink.wait_for(lambda es: sum(e.role == "agent" for e in es) >= 2)
    broken = next(e for e in entries if e.role == "agent" and e.agent_slug == "dying")
    assert broken.partial
    assert broken.parts and broken.parts[0]["text"].startswith("chunk 00000\nchunk 00001\n")


@pytest.mark.parametrize("gateway_settings", [{"request_timeout": 0.5}])
async def test_slow_agent_is_504_at_the_timeout(gw: Gateway) -> None:
    with echo_agent(name="slow", delay_ms=3000) as url:
        gw.add_agent("slow", url)
        async with httpx.AsyncClient(headers=gw.headers("alice"), timeout=30) as http:
            resp = await http.post(f"{gw.url}/agents/slow/", json=rpc("take your time", rid=42))
            rest = await http.post(
                f"{gw.url}/agents/slow/message:send",
                json={
                    "message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "x"}]}
                },
                headers={"A2A-Version": "1.0"},
            )
    assert resp.status_code == 504
    body = resp.json()
    assert body["id"] == 42 and body["error"]["data"]["code"] == "upstream_timeout"
    assert rest.status_code == 504 and rest.json()["error"]["code"] == "upstream_timeout"


async def test_one_replica_down_calls_still_succeed(gw: Gateway) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with echo_agent(name="replicated") as live:
        gw.add_agent("replicated", [dead, live])
        async with httpx.AsyncClient(headers=gw.headers("alice")) as http:
            replies = [
                await http.post(f"{gw.url}/agents/replicated/", json=rpc(f"n{i}")) for i in range(6)
            ]
            ready = (await http.get(f"{gw.url}/readyz")).json()
    assert [r.status_code for r in replies] == [200] * 6
    assert dead in ready["checks"]["upstream"]["endpoints_down"]


async def test_all_replicas_down_is_502(gw: Gateway) -> None:
    gw.add_agent(
        "gone",
        [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"],
        card={
            "name": "gone",
            "supportedInterfaces": [
                {
                    "url": "http://127.0.0.1:9/",
                    "protocolBinding": "JSONRPC",
                    "protocolVersion": "1.0",
                }
            ],
        },
    )
    async with httpx.AsyncClient(headers=gw.headers("alice")) as http:
        rpc_resp = await http.post(f"{gw.url}/agents/gone/", json=rpc("anyone?", rid="q"))
        rest_resp = await http.get(f"{gw.url}/agents/gone/tasks/abc")
    assert rpc_resp.status_code == rest_resp.status_code == 502
    assert rpc_resp.json()["id"] == "q"
    assert rpc_resp.json()["error"]["data"]["code"] == "agent_unavailable"
    assert rest_resp.json()["error"]["code"] == "agent_unavailable"
