"""Thin helpers over a2a-sdk 1.3: cards (normalise, validate, fetch, rewrite), a one-call
client, and cheap inspection of incoming A2A requests.

    cards.py    normalize_card: v1.0 / v0.3 / Nasiko seed files -> one canonical v1.0 card
    fetch.py    fetch_card: agent-card.json, then the legacy agent.json
    rewrite.py  card_interfaces, agent_origin, rewrite_card_urls, upstream_url, to_v03_card
    client.py   send_text / stream_text over JSON-RPC or HTTP+JSON, v1.0 or v0.3
    wire.py     inspect_jsonrpc / inspect_rest: method, version, ids, skill hint, text
"""

from nasiko.a2a.cards import (
    BINDINGS,
    DEFAULT_CARD_LIMIT,
    CardFormat,
    detect_card_format,
    normalize_card,
    parse_card_proto,
)
from nasiko.a2a.client import AgentReply, ReplyEvent, send_text, stream_text
from nasiko.a2a.fetch import card_urls, fetch_card
from nasiko.a2a.rewrite import (
    agent_origin,
    card_interfaces,
    rewrite_card_urls,
    to_v03_card,
    upstream_url,
)
from nasiko.a2a.wire import A2ARequest, inspect_jsonrpc, inspect_rest, upstream_version_header

__all__ = [
    "BINDINGS",
    "DEFAULT_CARD_LIMIT",
    "A2ARequest",
    "AgentReply",
    "CardFormat",
    "ReplyEvent",
    "agent_origin",
    "card_interfaces",
    "card_urls",
    "detect_card_format",
    "fetch_card",
    "inspect_jsonrpc",
    "inspect_rest",
    "normalize_card",
    "parse_card_proto",
    "rewrite_card_urls",
    "send_text",
    "stream_text",
    "to_v03_card",
    "upstream_url",
    "upstream_version_header",
]
