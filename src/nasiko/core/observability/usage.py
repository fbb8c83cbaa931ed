"""Token usage, model and attribution read from span attributes.

Three conventions are understood, first match wins:

- OpenTelemetry GenAI: ``gen_ai.usage.input_tokens`` / ``output_tokens`` (and the older
  ``prompt_tokens`` / ``completion_tokens``), ``gen_ai.response.model``,
  ``gen_ai.request.model``, ``gen_ai.system``;
- OpenInference (Phoenix): ``llm.token_count.prompt`` / ``completion``, ``llm.model_name``;
- LangTrace / OpenLLMetry: ``llm.usage.prompt_tokens`` / ``completion_tokens``, ``llm.model``,
  and LangTrace's JSON ``llm.token.counts``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasiko.core.observability import models as m

INPUT_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
)
OUTPUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
)
MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "llm.response.model",
    "llm.request.model",
    "llm.model",
)
SESSION_KEYS = (m.SESSION_ID, "session.id", "gen_ai.conversation.id", "a2a.context_id")
USER_KEYS = (m.USER_ID, "user.id", "enduser.id")


@dataclass(frozen=True, slots=True)
class TokenUsage:
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    system: str | None = None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value >= 0 and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _first_int(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in attrs and (found := _int(attrs[key])) is not None:
            return found
    return None


def first_str(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _langtrace_counts(attrs: Mapping[str, Any]) -> tuple[int | None, int | None]:
    raw = attrs.get("llm.token.counts")
    if not isinstance(raw, str):
        return None, None
    try:
        data = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    return (
        _int(data.get("input_tokens", data.get("prompt_tokens"))),
        _int(data.get("output_tokens", data.get("completion_tokens"))),
    )


def extract_usage(attrs: Mapping[str, Any]) -> TokenUsage:
    input_tokens = _first_int(attrs, INPUT_KEYS)
    output_tokens = _first_int(attrs, OUTPUT_KEYS)
    if input_tokens is None and output_tokens is None:
        input_tokens, output_tokens = _langtrace_counts(attrs)
    system = first_str(
        attrs, ("gen_ai.system", "gen_ai.provider.name", "llm.provider", "llm.system")
    )
    return TokenUsage(first_str(attrs, MODEL_KEYS), input_tokens, output_tokens, system)
