"""Cards as the gateway publishes them: every URL points at the gateway, never at the agent.

How the gateway maps paths (the one rule both sides rely on)::

    agent interface   http://10.0.0.7:8001/a2a/v1
    published as      {gateway}/agents/{slug}/a2a/v1          (rewrite_card_urls)
    request to        {gateway}/agents/{slug}/<rest>?<query>
    forwarded to      http://10.0.0.7:8001/<rest>?<query>     (upstream_url)

So the published URL keeps the agent's own path, and the gateway strips only
``/agents/{slug}``. That keeps JSON-RPC at a non-root path, REST paths such as
``/message:send`` and ``/v1/tasks/{id}`` (v0.3 REST), and tenant prefixes working unchanged.
It needs every HTTP interface of one agent to share one origin; a card that spreads them over
several origins is refused with `InvalidCard`. gRPC interfaces are left out of the published
card because the gateway proxies HTTP only. Signatures are dropped: they cover the original
URLs and would no longer verify.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from nasiko.a2a._fields import canonical_version
from nasiko.errors import InvalidCard

__all__ = [
    "agent_origin",
    "card_interfaces",
    "rewrite_card_urls",
    "to_v03_card",
    "upstream_url",
]

_HTTP_BINDINGS = ("JSONRPC", "HTTP+JSON")


def card_interfaces(card: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(binding, url, version)`` for each interface, in the card's order of preference.

    Reads a canonical card's ``supportedInterfaces``; for a v0.3-layout dict it reads the
    top-level ``url``/``preferredTransport`` and ``additionalInterfaces`` instead.
    """
    if "supportedInterfaces" in card:
        return [
            (
                str(i.get("protocolBinding", "")),
                str(i.get("url", "")),
                canonical_version(str(i.get("protocolVersion") or "1.0")) or "1.0",
            )
            for i in card.get("supportedInterfaces") or []
        ]
    version = canonical_version(str(card.get("protocolVersion") or "0.3")) or "0.3"
    out: list[tuple[str, str, str]] = []
    if card.get("url"):
        out.append((str(card.get("preferredTransport") or "JSONRPC"), str(card["url"]), version))
    for extra in card.get("additionalInterfaces") or []:
        entry = (str(extra.get("transport", "")), str(extra.get("url", "")), version)
        if entry not in out:
            out.append(entry)
    return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def agent_origin(card: Mapping[str, Any]) -> str | None:
    """``scheme://host:port`` that all of the agent's HTTP interfaces live on (None if none).

    Raises `InvalidCard` when HTTP interfaces sit on different origins: the gateway could
    not route them under one ``/agents/{slug}`` prefix.
    """
    origins: dict[str, int] = {}
    for i, (binding, url, _) in enumerate(card_interfaces(card)):
        if binding in _HTTP_BINDINGS:
            origins.setdefault(_origin(url), i)
    if len(origins) > 1:
        (first, _), *rest = origins.items()
        raise InvalidCard(
            "agent card lists HTTP interfaces on more than one origin; the gateway proxies "
            "one origin per agent, so serve every binding from the same host and port",
            details=[
                {
                    "path": f"$.supportedInterfaces[{idx}].url",
                    "message": f"origin {origin} differs from {first}",
                }
                for origin, idx in rest
            ],
        )
    return next(iter(origins), None)


def upstream_url(origin: str, rest: str, query: str = "") -> str:
    """Where the gateway forwards ``/agents/{slug}/{rest}?{query}`` for an agent at `origin`."""
    url = origin.rstrip("/") + "/" + rest.lstrip("/")
    return f"{url}?{query}" if query else url


def _rebase(url: str, base: str) -> str:
    parts = urlsplit(url)
    rebased = base + (parts.path or "/")
    return f"{rebased}?{parts.query}" if parts.query else rebased


def _is_private_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith((".local", ".internal", ".svc", ".cluster.local")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # bare container / pod names
    return ip.is_private or ip.is_loopback or ip.is_link_local


def rewrite_card_urls(card: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of `card` whose URLs all point under `base_url` (``http://gw/agents/<slug>``).

    Interface URLs keep their path (see the module docstring); ``documentationUrl`` and
    ``iconUrl`` on the agent's origin are rebased the same way, and ones on other private
    hosts are dropped. Works on canonical cards and on v0.3-layout dicts.
    """
    base = base_url.rstrip("/")
    origin = agent_origin(card)
    out = copy.deepcopy(dict(card))
    out.pop("signatures", None)
    if "supportedInterfaces" in out:
        out["supportedInterfaces"] = [
            {**iface, "url": _rebase(iface["url"], base)}
            for iface in out["supportedInterfaces"]
            if iface.get("protocolBinding") in _HTTP_BINDINGS
        ]
    if out.get("url"):
        out["url"] = _rebase(out["url"], base)
    if "additionalInterfaces" in out:
        out["additionalInterfaces"] = [
            {**iface, "url": _rebase(iface["url"], base)}
            for iface in out["additionalInterfaces"] or []
            if iface.get("transport") in _HTTP_BINDINGS
        ]
    for key in ("documentationUrl", "iconUrl"):
        value = out.get(key)
        if not isinstance(value, str):
            continue
        if origin and _origin(value) == origin:
            out[key] = _rebase(value, base)
        elif _is_private_host(value):
            del out[key]
    return out


def to_v03_card(card_v1: Mapping[str, Any]) -> dict[str, Any]:
    """The v0.3 layout of a canonical card, for clients that read ``/.well-known/agent.json``.

    Interfaces declared for v0.3 come first, so the top-level ``url`` is one a v0.3 client
    can talk to. A card with no v0.3 interface is still rendered, with ``protocolVersion``
    saying what the primary interface really speaks ("1.0") rather than pretending.
    """
    from a2a.compat.v0_3.conversions import to_compat_agent_card

    from nasiko.a2a.cards import parse_card_proto

    proto = parse_card_proto(card_v1)
    interfaces = list(proto.supported_interfaces)
    legacy = [i for i in interfaces if canonical_version(i.protocol_version or "1.0") == "0.3"]
    ordered = legacy or interfaces
    primary_version = "0.3.0" if legacy else (ordered[0].protocol_version if ordered else "1.0")
    del proto.supported_interfaces[:]
    for iface in ordered:
        copy_ = type(iface)()
        copy_.CopyFrom(iface)
        copy_.protocol_version = "0.3"  # the SDK only renders interfaces it deems legacy
        proto.supported_interfaces.append(copy_)
    if not ordered:
        raise InvalidCard(
            "agent card has no interface to put in a v0.3 card's url",
            details=[{"path": "$.supportedInterfaces", "message": "must not be empty"}],
        )
    rendered = to_compat_agent_card(proto).model_dump(mode="json", by_alias=True, exclude_none=True)
    rendered["protocolVersion"] = primary_version
    if not rendered.get("additionalInterfaces"):
        rendered.pop("additionalInterfaces", None)
    return rendered
