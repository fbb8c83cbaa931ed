"""Optional LLM re-ranking of the hybrid shortlist through an OpenAI-compatible API.

The model sees the request and a numbered shortlist of agents and must answer with JSON that
matches a strict schema: ``{"ranked": [agent ids, best first]}`` (an empty list means no agent
fits). Anything else (transport error, timeout, HTTP error, malformed or out-of-list answer)
returns None and the caller keeps the hybrid ranking: the LLM may only improve routing, never
break it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You route a user's request to software agents. You get the request and a shortlist of "
    "agents with their skills. Rank the agents that can fulfil the request, best first, using "
    "only ids from the shortlist. Leave out agents that cannot help. Answer with an empty list "
    "if none of them can. Reply with JSON only."
)


@dataclass(frozen=True)
class ShortlistItem:
    agent_id: str
    name: str
    description: str
    skills: Sequence[str]


def _schema(ids: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "agent_ranking",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "ranked": {"type": "array", "items": {"type": "string", "enum": list(ids)}}
                },
                "required": ["ranked"],
                "additionalProperties": False,
            },
        },
    }


class LLMReranker:
    """Re-ranks a shortlist with a chat-completions model; ``None`` means "keep yours"."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        if not base_url.rstrip("/").endswith("/v1"):
            self.url = base_url.rstrip("/") + "/v1/chat/completions"
        self.model = model
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _payload(self, query: str, shortlist: Sequence[ShortlistItem]) -> dict[str, Any]:
        agents = [
            {
                "id": item.agent_id,
                "name": item.name,
                "description": item.description,
                "skills": list(item.skills),
            }
            for item in shortlist
        ]
        user = json.dumps({"request": query, "agents": agents}, ensure_ascii=False)
        return {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user},
            ],
            "response_format": _schema([item.agent_id for item in shortlist]),
        }

    @staticmethod
    def parse(body: Any, allowed_ids: Sequence[str]) -> list[str] | None:
        """The ranked ids from a chat-completions response body, or None if it is unusable."""
        try:
            content = body["choices"][0]["message"]["content"]
            answer = json.loads(content)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError):
            return None
        if not isinstance(answer, dict) or set(answer) != {"ranked"}:
            return None
        ranked = answer["ranked"]
        allowed = set(allowed_ids)
        if not isinstance(ranked, list) or not all(isinstance(x, str) for x in ranked):
            return None
        if len(set(ranked)) != len(ranked) or not set(ranked) <= allowed:
            return None
        return ranked

    def rerank(self, query: str, shortlist: Sequence[ShortlistItem]) -> list[str] | None:
        if not shortlist:
            return None
        try:
            response = httpx.post(
                self.url,
                json=self._payload(query, shortlist),
                headers=self._headers,
                timeout=self.timeout,
            )
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("LLM re-rank failed, keeping hybrid ranking: %s", exc)
            return None
        ranked = self.parse(body, [item.agent_id for item in shortlist])
        if ranked is None:
            log.warning("LLM re-rank answer did not match the schema; keeping hybrid ranking")
        return ranked

    async def arerank(self, query: str, shortlist: Sequence[ShortlistItem]) -> list[str] | None:
        if not shortlist:
            return None
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.url, json=self._payload(query, shortlist), headers=self._headers
                )
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("LLM re-rank failed, keeping hybrid ranking: %s", exc)
            return None
        ranked = self.parse(body, [item.agent_id for item in shortlist])
        if ranked is None:
            log.warning("LLM re-rank answer did not match the schema; keeping hybrid ranking")
        return ranked
