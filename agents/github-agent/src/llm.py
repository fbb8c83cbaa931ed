"""One small provider layer: OpenAI-compatible, Anthropic and Gemini over their REST APIs.

Chosen by ``LLM_PROVIDER`` (openai | anthropic | gemini) or else by the first key present:
``OPENAI_API_KEY`` (or just ``OPENAI_BASE_URL`` for a local server), ``ANTHROPIC_API_KEY``,
``GOOGLE_API_KEY``. ``LLM_MODEL`` overrides the provider's model variable. Each call runs in
an OpenTelemetry span carrying the GenAI attributes, so token usage reaches the traces; with no
OpenTelemetry SDK configured the span is a no-op.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
from opentelemetry import trace

MODEL_HINT = (
    "set OPENAI_API_KEY (plus OPENAI_BASE_URL and OPENAI_MODEL for an OpenAI-compatible "
    "server), ANTHROPIC_API_KEY or GOOGLE_API_KEY"
)
_DEFAULTS = {
    "openai": ("OPENAI_MODEL", "gpt-4o-mini", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": (
        "ANTHROPIC_MODEL",
        "claude-3-5-haiku-latest",
        "ANTHROPIC_BASE_URL",
        "https://api.anthropic.com",
    ),
    "gemini": (
        "GEMINI_MODEL",
        "gemini-2.0-flash",
        "GEMINI_BASE_URL",
        "https://generativelanguage.googleapis.com",
    ),
}
_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GOOGLE_API_KEY"}
_SYSTEM_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini"}
_tracer = trace.get_tracer("nasiko.sample_agent.llm")


class ModelError(Exception):
    """The model provider refused or failed the call; the message says why."""


@dataclass(frozen=True)
class ModelConfig:
    provider: str
    model: str
    api_key: str
    base_url: str


def config_from_env(env: Mapping[str, str] | None = None) -> ModelConfig | None:
    """The configured model, or None when no provider is set up (callers then degrade)."""
    env = os.environ if env is None else env
    provider = env.get("LLM_PROVIDER", "").strip().lower()
    if provider == "google":
        provider = "gemini"
    if not provider:
        if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
            provider = "openai"
        elif env.get("ANTHROPIC_API_KEY"):
            provider = "anthropic"
        elif env.get("GOOGLE_API_KEY") or env.get("GEMINI_API_KEY"):
            provider = "gemini"
        else:
            return None
    if provider not in _DEFAULTS:
        return None
    model_var, model_default, url_var, url_default = _DEFAULTS[provider]
    key = env.get(_KEYS[provider], "") or (
        env.get("GEMINI_API_KEY", "") if provider == "gemini" else ""
    )
    # A local OpenAI-compatible server may need no key; the hosted APIs always do.
    if not key and not (provider == "openai" and env.get("OPENAI_BASE_URL")):
        return None
    return ModelConfig(
        provider=provider,
        model=env.get("LLM_MODEL") or env.get(model_var) or model_default,
        api_key=key,
        base_url=(env.get(url_var) or url_default).rstrip("/"),
    )


class ChatModel:
    """Streams a reply to one system + user prompt from the configured provider."""

    def __init__(self, config: ModelConfig, *, timeout: float = 120.0) -> None:
        self.config = config
        self._timeout = timeout

    async def complete(self, system: str, user: str, *, max_tokens: int = 2048) -> str:
        return "".join([c async for c in self.stream(system, user, max_tokens=max_tokens)])

    async def stream(self, system: str, user: str, *, max_tokens: int = 2048) -> AsyncIterator[str]:
        cfg = self.config
        with _tracer.start_as_current_span(f"chat {cfg.model}", kind=trace.SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.system", _SYSTEM_NAMES[cfg.provider])
            span.set_attribute("gen_ai.provider.name", _SYSTEM_NAMES[cfg.provider])
            span.set_attribute("gen_ai.request.model", cfg.model)
            span.set_attribute("gen_ai.request.max_tokens", max_tokens)
            usage = {"in": 0, "out": 0}
            method, url, headers, body = self._request(system, user, max_tokens)
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                try:
                    async with client.stream(method, url, headers=headers, json=body) as resp:
                        if resp.status_code >= 400:
                            detail = (await resp.aread()).decode("utf-8", "replace")[:300]
                            raise ModelError(
                                f"{cfg.provider} returned HTTP {resp.status_code} for model "
                                f"{cfg.model}: {detail}"
                            )
                        async for event in _sse_events(resp):
                            text = self._absorb(event, usage)
                            if text:
                                yield text
                except httpx.HTTPError as exc:
                    raise ModelError(f"could not reach {cfg.provider} at {url}: {exc}") from exc
            span.set_attribute("gen_ai.usage.input_tokens", usage["in"])
            span.set_attribute("gen_ai.usage.output_tokens", usage["out"])

    def _request(self, system: str, user: str, max_tokens: int) -> tuple[str, str, dict, dict]:
        cfg = self.config
        if cfg.provider == "anthropic":
            return (
                "POST",
                f"{cfg.base_url}/v1/messages",
                {"x-api-key": cfg.api_key, "anthropic-version": "2023-06-01"},
                {
                    "model": cfg.model,
                    "max_tokens": max_tokens,
                    "system": system,
                    "messages": [{"role": "user", "content": user}],
                    "stream": True,
                },
            )
        if cfg.provider == "gemini":
            return (
                "POST",
                f"{cfg.base_url}/v1beta/models/{cfg.model}:streamGenerateContent?alt=sse",
                {"x-goog-api-key": cfg.api_key},
                {
                    "systemInstruction": {"parts": [{"text": system}]},
                    "contents": [{"role": "user", "parts": [{"text": user}]}],
                    "generationConfig": {"maxOutputTokens": max_tokens},
                },
            )
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        return (
            "POST",
            f"{cfg.base_url}/chat/completions",
            headers,
            {
                "model": cfg.model,
                "max_tokens": max_tokens,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )

    def _absorb(self, event: dict, usage: dict[str, int]) -> str:
        """Pull text out of one streamed event and note any token counts it carries."""
        provider = self.config.provider
        if provider == "anthropic":
            kind = event.get("type")
            if kind == "message_start":
                usage["in"] = event.get("message", {}).get("usage", {}).get("input_tokens", 0)
            elif kind == "message_delta":
                usage["out"] = event.get("usage", {}).get("output_tokens", usage["out"])
            elif kind == "content_block_delta":
                return event.get("delta", {}).get("text", "")
            elif kind == "error":
                raise ModelError(f"anthropic error: {event.get('error')}")
            return ""
        if provider == "gemini":
            meta = event.get("usageMetadata") or {}
            usage["in"] = meta.get("promptTokenCount", usage["in"])
            usage["out"] = meta.get("candidatesTokenCount", usage["out"])
            parts = (event.get("candidates") or [{}])[0].get("content", {}).get("parts", [])
            return "".join(p.get("text", "") for p in parts)
        if event.get("usage"):
            usage["in"] = event["usage"].get("prompt_tokens", 0)
            usage["out"] = event["usage"].get("completion_tokens", 0)
        choices = event.get("choices") or []
        if not choices:
            return ""
        return choices[0].get("delta", {}).get("content") or ""


async def _sse_events(resp: httpx.Response) -> AsyncIterator[dict]:
    async for line in resp.aiter_lines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if not payload or payload == "[DONE]":
            continue
        try:
            yield json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ModelError(f"unreadable event from the model server: {payload[:120]}") from exc


def model_from_env() -> ChatModel | None:
    config = config_from_env()
    return ChatModel(config) if config else None
