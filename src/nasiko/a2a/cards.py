"""Agent cards in, one canonical A2A v1.0 card out.

`normalize_card` accepts what agents actually publish:

* an A2A v1.0 card (``supportedInterfaces``),
* an A2A v0.3 card (top-level ``url`` + ``preferredTransport`` + ``additionalInterfaces``,
  ``protocolVersion: "0.3.0"``; also the 0.2.x cards of the original Nasiko agents),
* the original Nasiko seed's ``capabilities.json`` (``capabilities`` is a list of strings).

The canonical shape is the a2a-sdk's own ``AgentCard`` proto rendered as ProtoJSON, with
these guarantees so callers never branch on presence:

* ``supportedInterfaces`` is a list (maybe empty for a package that is not deployed yet);
  each entry has ``url``, ``protocolBinding`` in ``JSONRPC | HTTP+JSON | GRPC`` and
  ``protocolVersion`` as major.minor (``"1.0"`` or ``"0.3"``: 0.x cards all spoke the
  ``message/send`` dialect, and the SDK's client negotiates on major.minor).
* ``capabilities`` always has ``streaming`` and ``pushNotifications`` booleans.
* ``defaultInputModes`` / ``defaultOutputModes`` are non-empty (``["text/plain"]``).
* every skill has ``id`` (derived from the name when missing), ``name``, ``description``,
  ``tags`` (``[id]`` when none) and ``examples``.

Fields the spec does not know (``agentFramework``, ``chat_agent``, ``endpoints``…) are
dropped. Problems are reported all at once as `InvalidCard` with ``details`` a list of
``{"path": "$.skills[2].id", "message": ...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from google.protobuf.json_format import MessageToDict, ParseError

from nasiko.a2a import _fields as fields
from nasiko.a2a._fields import BINDINGS, DEFAULT_MODES, canonical_version, slugify
from nasiko.errors import InvalidCard, PayloadTooLarge

__all__ = [
    "BINDINGS",
    "DEFAULT_CARD_LIMIT",
    "DEFAULT_MODES",
    "CardFormat",
    "canonical_version",
    "detect_card_format",
    "normalize_card",
    "parse_card_proto",
    "slugify",
]

DEFAULT_CARD_LIMIT = 256 * 1024
CardFormat = Literal["v1.0", "v0.3", "nasiko-capabilities"]


def detect_card_format(doc: Mapping[str, Any]) -> CardFormat:
    """Which of the accepted layouts `doc` uses (v1.0 wins when fields of both are present)."""
    if isinstance(doc.get("capabilities"), list):
        return "nasiko-capabilities"
    if "supportedInterfaces" in doc:
        return "v1.0"
    if any(k in doc for k in ("url", "preferredTransport", "additionalInterfaces")):
        return "v0.3"
    version = doc.get("protocolVersion")
    if isinstance(version, str) and canonical_version(version) == "0.3":
        return "v0.3"
    return "v1.0"


def _load(doc: Mapping[str, Any] | str | bytes, limit: int) -> dict[str, Any]:
    if isinstance(doc, Mapping):
        size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    else:
        size = len(doc.encode() if isinstance(doc, str) else doc)
    if size > limit:
        raise PayloadTooLarge(
            f"agent card is {size} bytes; the limit is {limit} bytes",
            details={"size": size, "limit": limit},
        )
    if not isinstance(doc, Mapping):
        try:
            doc = json.loads(doc)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCard(
                "agent card is not valid JSON",
                details=[{"path": "$", "message": f"not valid JSON: {exc}"}],
            ) from exc
    if not isinstance(doc, Mapping):
        raise InvalidCard(
            "agent card must be a JSON object",
            details=[{"path": "$", "message": f"must be an object, got {fields.kind(doc)}"}],
        )
    return dict(doc)


def normalize_card(
    doc: Mapping[str, Any] | str | bytes,
    *,
    limit: int = DEFAULT_CARD_LIMIT,
    require_interface: bool = False,
) -> dict[str, Any]:
    """Validate any accepted card layout and return the canonical v1.0 card (a new dict).

    Raises `PayloadTooLarge` past `limit` bytes (compact JSON) and `InvalidCard` listing
    every problem. With `require_interface`, a card that says nowhere where the agent
    listens is invalid (right for a live agent; wrong for a package not yet deployed).
    """
    data = _load(doc, limit)
    fmt = detect_card_format(data)
    problems = fields.Problems()
    card: dict[str, Any] = {
        "name": problems.string(data, "name", "$", required=True),
        "description": problems.string(data, "description", "$", required=True),
        "version": problems.string(data, "version", "$", required=False, numbers=True) or "0.0.0",
    }
    if fmt == "v1.0":
        interfaces = fields.v1_interfaces(data, problems)
    elif fmt == "v0.3" or data.get("url") is not None:
        interfaces = fields.v03_interfaces(data, problems)
    else:
        interfaces = []
    card["supportedInterfaces"] = fields.dedupe(interfaces)
    if require_interface and not card["supportedInterfaces"] and not problems.items:
        where = "$.supportedInterfaces" if fmt == "v1.0" else "$.url"
        problems.add(where, "the card must say where the agent listens")
    provider = fields.provider(data, problems)
    if provider:
        card["provider"] = provider
    for key in ("documentationUrl", "iconUrl"):
        value = problems.string(data, key, "$", required=False)
        if value:
            card[key] = value
    card["capabilities"] = fields.capabilities(
        data, from_list=fmt == "nasiko-capabilities", problems=problems
    )
    card["defaultInputModes"] = fields.modes(data, "defaultInputModes", problems)
    card["defaultOutputModes"] = fields.modes(data, "defaultOutputModes", problems)
    if fmt == "nasiko-capabilities":
        raw_skills = data.get("skills")
        card["skills"] = (
            fields.skills(raw_skills, "$.skills", problems)
            if raw_skills is not None
            else fields.skills(data.get("capabilities"), "$.capabilities", problems)
        )
    else:
        card["skills"] = fields.skills(data.get("skills"), "$.skills", problems)
    for key in ("securitySchemes", "securityRequirements", "security", "signatures"):
        if data.get(key):
            card[key] = data[key]
    if problems.items:
        raise _invalid(data, problems.items)
    return _canonical(card, data)


def _invalid(data: Mapping[str, Any], items: list[dict[str, str]]) -> InvalidCard:
    name = data.get("name") if isinstance(data.get("name"), str) else None
    what = f"agent card {name!r}" if name else "agent card"
    first = items[0]
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return InvalidCard(
        f"{what} is invalid: {first['path']} {first['message']}{more}", details=items
    )


def parse_card_proto(card: Mapping[str, Any]) -> Any:
    """The a2a-sdk ``AgentCard`` proto for a card dict (canonical or legacy layout)."""
    from a2a.client.card_resolver import parse_agent_card

    # parse_agent_card rewrites its argument in place (legacy security, url fields).
    return parse_agent_card(json.loads(json.dumps(card)))


def _canonical(card: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        proto = parse_card_proto(card)
    except (ParseError, ValueError, TypeError) as exc:
        # Only the free-form parts (security, signatures, extensions) reach this point.
        field = re.search(r"Failed to parse (\w+) field", str(exc))
        path = f"$.{field.group(1)}" if field else "$"
        raise _invalid(data, [{"path": path, "message": str(exc)}]) from exc
    rendered: dict[str, Any] = MessageToDict(proto)
    rendered["supportedInterfaces"] = card["supportedInterfaces"]
    caps = rendered.setdefault("capabilities", {})
    caps.setdefault("streaming", False)
    caps.setdefault("pushNotifications", False)
    rendered.setdefault("skills", [])
    for skill in rendered["skills"]:
        skill.setdefault("tags", [])
        skill.setdefault("examples", [])
    # A fixed key order keeps stored cards and diffs readable.
    order = {key: i for i, key in enumerate(_KEY_ORDER)}
    return dict(sorted(rendered.items(), key=lambda kv: order.get(kv[0], len(order))))


_KEY_ORDER = (
    "name",
    "description",
    "version",
    "supportedInterfaces",
    "provider",
    "documentationUrl",
    "iconUrl",
    "capabilities",
    "securitySchemes",
    "securityRequirements",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
    "signatures",
)
