"""A deployed agent, instrumented by the platform (OpenTelemetry auto-instrumentation, no
change to its code), calls a model; one call through the gateway gives one trace: the
gateway's span, the agent's server span and the model span with its tokens and cost."""

from __future__ import annotations

import asyncio
import io
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from nasiko.a2a import send_text
from nasiko.client import NasikoClient
from nasiko.testing.fake_llm import FakeLLM
from nasiko.testing.platform import PlatformThread, make_settings

AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "llm-agent"


def _walk(node: dict[str, Any], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    out = [(depth, node)]
    for child in node["children"]:
        out += _walk(child, depth + 1)
    return out


def test_one_call_through_the_gateway_is_one_priced_trace(tmp_path: Path) -> None:
    with FakeLLM() as llm:
        pkg = tmp_path / "llm-agent"
        shutil.copytree(AGENT, pkg)
        # The package's own settings: where its model is, and a short export interval.
        (pkg / "nasiko.toml").write_text(
            f'[agent]\nenv = {{ OPENAI_BASE_URL = "{llm.openai_base_url}", '
            'OTEL_BSP_SCHEDULE_DELAY = "200" }\n'
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for path in sorted(pkg.rglob("*")):
                if path.is_file():
                    zf.write(path, f"llm-agent/{path.relative_to(pkg).as_posix()}")
        settings = make_settings(
            tmp_path / "data",
            runtime={"inherit_site_packages": True},
            worker={"health_timeout": 120.0},
        )
        with (
            PlatformThread(settings, ["api", "gateway", "worker"]) as p,
            NasikoClient(p.api_url) as admin,
        ):
            admin.login("admin", "admin-password-1")
            upload = admin.request(
                "POST", "/uploads", files={"file": ("llm-agent.zip", buf.getvalue())}
            ).json()
            deadline = time.monotonic() + 300
            while admin.get(f"/uploads/{upload['id']}")["status"] not in ("registered", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.3)
            done = admin.get(f"/uploads/{upload['id']}")
            assert done["status"] == "registered", done["error"]
            assert any("OpenTelemetry" in line for s in done["steps"] for line in s["log"])

            async def ask() -> str:
                headers = {"Authorization": f"Bearer {admin.tokens.access_token}"}
                async with httpx.AsyncClient(headers=headers, timeout=60) as c:
                    reply = await send_text(
                        f"{p.gateway_url}/agents/llm-agent",
                        "what is the capital of France",
                        client=c,
                    )
                    return reply.text

            assert "what is the capital of France" in asyncio.run(ask())
            tree: dict[str, Any] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                traces = admin.get("/traces", params={"agent": "llm-agent"})["items"]
                for summary in traces:
                    tree = admin.get(f"/traces/{summary['trace_id']}")
                    names = [n["name"] for root in tree["roots"] for _, n in _walk(root)]
                    # The model call's trace, once the gateway's span has joined it.
                    if any(n.startswith("chat ") for n in names) and any(
                        r["service_name"] == "nasiko" for r in tree["roots"]
                    ):
                        break
                else:
                    time.sleep(0.5)
                    continue
                break
            assert len(tree["roots"]) == 1, [r["name"] for r in tree["roots"]]
            spans = _walk(tree["roots"][0])
            gateway = tree["roots"][0]
            assert gateway["service_name"] == "nasiko"
            server = [n for d, n in spans if d >= 1 and n["kind"] == "server"]
            model = [n for _, n in spans if n["name"].startswith("chat ")]
            assert server and server[0]["service_name"] == "llm-agent"
            assert model and model[0]["input_tokens"] > 0 and model[0]["output_tokens"] > 0
            assert tree["summary"]["cost_usd"] > 0
            summary = {row["agent"]: row for row in admin.get("/traces/summary")}
            assert summary["llm-agent"]["input_tokens"] == model[0]["input_tokens"]
            assert summary["llm-agent"]["cost_usd"] > 0
