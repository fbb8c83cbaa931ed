"""Field-by-field checks for agent cards, each problem reported with its JSON path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

BINDINGS = ("JSONRPC", "HTTP+JSON", "GRPC")
DEFAULT_MODES = ("text/plain",)
_BINDING_ALIASES = {
    "jsonrpc": "JSONRPC",
    "json-rpc": "JSONRPC",
    "json_rpc": "JSONRPC",
    "http+json": "HTTP+JSON",
    "http_json": "HTTP+JSON",
    "rest": "HTTP+JSON",
    "grpc": "GRPC",
}
_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[-+.][0-9A-Za-z.-]*)?\s*$")


def slugify(text: str) -> str:
    """A skill id from a name: lower-case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def canonical_version(value: str) -> str | None:
    """``"0.3.0"`` / ``"0.2.9"`` -> ``"0.3"``; ``"1"`` / ``"1.0.0"`` -> ``"1.0"``; junk -> None."""
    m = _VERSION.match(value)
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    return "0.3" if major == 0 else f"{major}.{minor}"


class Problems:
    """Collects every problem with its JSON path so one response can list them all."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"path": path, "message": message})

    def string(
        self, doc: Mapping[str, Any], key: str, path: str, *, required: bool, numbers: bool = False
    ) -> str:
        """A string field; `numbers` accepts 1.0 for "1.0" (hand-written versions)."""
        value = doc.get(key)
        if value is None:
            if required:
                self.add(f"{path}.{key}", "is required")
            return ""
        allowed = str | int | float if numbers else str
        if isinstance(value, bool) or not isinstance(value, allowed):
            self.add(f"{path}.{key}", f"must be a string, got {kind(value)}")
            return ""
        text = str(value).strip()
        if required and not text:
            self.add(f"{path}.{key}", "must not be empty")
        return text

    def strings(self, doc: Mapping[str, Any], key: str, path: str) -> list[str] | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.add(f"{path}.{key}", f"must be a list of strings, got {kind(value)}")
            return None
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            else:
                self.add(f"{path}.{key}[{i}]", f"must be a non-empty string, got {kind(item)}")
        return out

    def boolean(self, doc: Mapping[str, Any], key: str, path: str) -> bool | None:
        value = doc.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.add(f"{path}.{key}", f"must be true or false, got {kind(value)}")
        return None


def kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for t, name in names.items():
        if isinstance(value, t):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _binding(value: Any, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"must be one of {', '.join(BINDINGS)}, got {kind(value)}")
        return None
    binding = value.strip()
    if binding in BINDINGS:
        return binding
    alias = _BINDING_ALIASES.get(binding.lower())
    if alias is None:
        problems.add(path, f"must be one of {', '.join(BINDINGS)}, got {binding!r}")
    return alias


def _version(value: Any, path: str, problems: Problems, default: str) -> str:
    if value is None:
        return default
    canon = canonical_version(value) if isinstance(value, str) else None
    if canon is None:
        problems.add(path, f'must be a protocol version like "1.0" or "0.3.0", got {value!r}')
        return default
    return canon


def _url(value: Any, path: str, binding: str | None, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"must be a URL, got {kind(value)}")
        return None
    url = value.strip()
    if binding == "GRPC":  # gRPC targets are often bare host:port
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(path, f"must be an absolute http(s) URL, got {url!r}")
        return None
    return url


def _interface(
    problems: Problems,
    *,
    url: tuple[Any, str],
    binding: tuple[Any, str],
    version: tuple[Any, str],
    default_version: str,
    tenant: str | None = None,
) -> dict[str, str] | None:
    """One interface; each argument is (value, JSON path of that value in the input)."""
    b = _binding(binding[0], binding[1], problems)
    u = _url(url[0], url[1], b, problems)
    v = _version(version[0], version[1], problems, default_version)
    if b is None or u is None:
        return None
    out = {"url": u, "protocolBinding": b, "protocolVersion": v}
    if tenant:
        out["tenant"] = tenant
    return out


def v1_interfaces(doc: Mapping[str, Any], problems: Problems) -> list[dict[str, str]]:
    raw = doc.get("supportedInterfaces")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("$.supportedInterfaces", f"must be a list, got {kind(raw)}")
        return []
    out = []
    for i, item in enumerate(raw):
        path = f"$.supportedInterfaces[{i}]"
        if not isinstance(item, Mapping):
            problems.add(path, f"must be an object, got {kind(item)}")
            continue
        if "protocolBinding" not in item:
            problems.add(f"{path}.protocolBinding", "is required")
            continue
        tenant = problems.string(item, "tenant", path, required=False)
        iface = _interface(
            problems,
            url=(item.get("url"), f"{path}.url"),
            binding=(item.get("protocolBinding"), f"{path}.protocolBinding"),
            version=(item.get("protocolVersion"), f"{path}.protocolVersion"),
            default_version="1.0",
            tenant=tenant,
        )
        if iface:
            out.append(iface)
    return out


def v03_interfaces(doc: Mapping[str, Any], problems: Problems) -> list[dict[str, str]]:
    version = _version(doc.get("protocolVersion"), "$.protocolVersion", problems, "0.3")
    out = []
    if doc.get("url") is not None:
        primary = _interface(
            problems,
            url=(doc.get("url"), "$.url"),
            binding=(doc.get("preferredTransport", "JSONRPC"), "$.preferredTransport"),
            version=(version, "$.protocolVersion"),
            default_version=version,
        )
        if primary:
            out.append(primary)
    extra = doc.get("additionalInterfaces")
    if extra is not None and not isinstance(extra, list):
        problems.add("$.additionalInterfaces", f"must be a list, got {kind(extra)}")
        extra = None
    for i, item in enumerate(extra or []):
        path = f"$.additionalInterfaces[{i}]"
        if not isinstance(item, Mapping):
            problems.add(path, f"must be an object, got {kind(item)}")
            continue
        iface = _interface(
            problems,
            url=(item.get("url"), f"{path}.url"),
            binding=(item.get("transport"), f"{path}.transport"),
            version=(version, "$.protocolVersion"),
            default_version=version,
        )
        if iface:
            out.append(iface)
    return out


def dedupe(interfaces: list[dict[str, str]]) -> list[dict[str, str]]:
    # v0.3 cards usually repeat the primary interface in additionalInterfaces.
    seen: set[tuple[str, str, str]] = set()
    out = []
    for iface in interfaces:
        key = (iface["url"], iface["protocolBinding"], iface["protocolVersion"])
        if key not in seen:
            seen.add(key)
            out.append(iface)
    return out


def _humanize(word: str) -> str:
    return re.sub(r"[_\-\s]+", " ", word).strip().capitalize()


def _skill(item: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if isinstance(item, str):
        if not item.strip():
            problems.add(path, "must not be empty")
            return None
        skill_id = slugify(item) or item.strip()
        name = _humanize(item)
        return {"id": skill_id, "name": name, "description": name, "tags": [skill_id]}
    if not isinstance(item, Mapping):
        problems.add(path, f"must be an object or a string, got {kind(item)}")
        return None
    skill_id = problems.string(item, "id", path, required=False)
    name = problems.string(item, "name", path, required=False)
    if not skill_id and not name:
        problems.add(path, "needs an id or a name")
        return None
    skill_id = skill_id or slugify(name) or name
    name = name or skill_id
    out: dict[str, Any] = {
        "id": skill_id,
        "name": name,
        "description": problems.string(item, "description", path, required=False) or name,
        "tags": problems.strings(item, "tags", path) or [skill_id],
        "examples": problems.strings(item, "examples", path) or [],
    }
    for key in ("inputModes", "outputModes"):
        modes = problems.strings(item, key, path)
        if modes:
            out[key] = modes
    for key in ("securityRequirements", "security"):
        if item.get(key) is not None:
            out[key] = item[key]
    return out


def skills(raw: Any, path: str, problems: Problems) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(path, f"must be a list, got {kind(raw)}")
        return []
    skills: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        skill = _skill(item, f"{path}[{i}]", problems)
        if skill is None:
            continue
        if skill["id"] in seen:
            problems.add(
                f"{path}[{i}].id",
                f"duplicate skill id {skill['id']!r} (also used by {path}[{seen[skill['id']]}])",
            )
            continue
        seen[skill["id"]] = i
        skills.append(skill)
    return skills


def capabilities(doc: Mapping[str, Any], *, from_list: bool, problems: Problems) -> dict[str, Any]:
    caps: dict[str, Any] = {"streaming": False, "pushNotifications": False}
    raw = doc.get("capabilities")
    if from_list or raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.add("$.capabilities", f"must be an object, got {kind(raw)}")
        raw = {}
    for key in ("streaming", "pushNotifications", "extendedAgentCard"):
        value = problems.boolean(raw, key, "$.capabilities")
        if value is not None:
            caps[key] = value
    legacy = problems.boolean(doc, "supportsAuthenticatedExtendedCard", "$")
    if legacy and "extendedAgentCard" not in caps:
        caps["extendedAgentCard"] = True
    if raw.get("extensions") is not None:
        caps["extensions"] = raw["extensions"]
    return caps


def provider(doc: Mapping[str, Any], problems: Problems) -> dict[str, str] | None:
    raw = doc.get("provider")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add("$.provider", f"must be an object, got {kind(raw)}")
        return None
    return {
        "organization": problems.string(raw, "organization", "$.provider", required=True),
        "url": problems.string(raw, "url", "$.provider", required=True),
    }


def modes(doc: Mapping[str, Any], key: str, problems: Problems) -> list[str]:
    return problems.strings(doc, key, "$") or list(DEFAULT_MODES)
