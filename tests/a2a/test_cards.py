"""normalize_card on real-world card files: v1.0, v0.3, the Nasiko seed formats, broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from a2a.utils.proto_utils import validate_proto_required_fields

from nasiko.a2a import detect_card_format, normalize_card, parse_card_proto
from nasiko.errors import InvalidCard, PayloadTooLarge

CARDS = Path(__file__).parent / "cards"
GOOD = [
    "currency_v1.json",
    "currency_v03.json",
    "seed_AgentCard.json",
    "seed_capabilities.json",
    "v03_legacy_agent.json",
]


def load(name: str) -> dict[str, Any]:
    return json.loads((CARDS / name).read_text())


def errors_of(doc: Any) -> dict[str, str]:
    with pytest.raises(InvalidCard) as info:
        normalize_card(doc)
    assert isinstance(info.value.details, list)
    return {d["path"]: d["message"] for d in info.value.details}


def test_formats_are_detected() -> None:
    assert detect_card_format(load("currency_v1.json")) == "v1.0"
    assert detect_card_format(load("currency_v03.json")) == "v0.3"
    assert detect_card_format(load("seed_AgentCard.json")) == "v0.3"
    assert detect_card_format(load("seed_capabilities.json")) == "nasiko-capabilities"


@pytest.mark.parametrize("name", GOOD)
def test_every_good_card_has_the_canonical_shape(name: str) -> None:
    card = normalize_card(load(name))
    assert list(card)[:4] == ["name", "description", "version", "supportedInterfaces"]
    assert {"capabilities", "defaultInputModes", "defaultOutputModes", "skills"} <= set(card)
    assert set(card["capabilities"]) >= {"streaming", "pushNotifications"}
    assert all(isinstance(v, bool) for v in card["capabilities"].values())
    assert card["defaultInputModes"] and card["defaultOutputModes"]
    for iface in card["supportedInterfaces"]:
        assert set(iface) == {"url", "protocolBinding", "protocolVersion"}
        assert iface["protocolBinding"] in ("JSONRPC", "HTTP+JSON", "GRPC")
        assert iface["protocolVersion"] in ("1.0", "0.3")
    for skill in card["skills"]:
        assert {"id", "name", "description", "tags", "examples"} <= set(skill)
        assert skill["tags"], "an empty tag list is filled with the skill id"
    # Canonical output is a fixed point, and JSON all the way down.
    assert normalize_card(card) == card
    assert json.loads(json.dumps(card)) == card


def test_v03_and_v1_descriptions_of_one_agent_normalise_to_the_same_card() -> None:
    v1 = normalize_card(load("currency_v1.json"))
    v03 = normalize_card(load("currency_v03.json"))
    assert [i["protocolVersion"] for i in v1["supportedInterfaces"]] == ["1.0", "1.0"]
    # The primary interface was also listed in additionalInterfaces: it appears once.
    assert [i["protocolVersion"] for i in v03["supportedInterfaces"]] == ["0.3", "0.3"]
    for iface in v03["supportedInterfaces"]:
        iface["protocolVersion"] = "1.0"
    assert v03 == v1
    # Legacy security ("type": "apiKey", "in": "header") became the v1.0 form.
    assert v03["securitySchemes"]["apiKey"] == {
        "apiKeySecurityScheme": {"location": "header", "name": "X-API-Key"}
    }


def test_both_seed_files_normalise_to_the_same_agent() -> None:
    card = normalize_card(load("seed_AgentCard.json"))
    caps = normalize_card(load("seed_capabilities.json"))
    for key in ("name", "description", "version"):
        assert card[key] == caps[key]
    assert [s["id"] for s in card["skills"]] == [s["id"] for s in caps["skills"]]
    assert caps["skills"][0] == {
        "id": "translate-text",
        "name": "Translate text",
        "description": "Translate text",
        "tags": ["translate-text"],
        "examples": [],
    }
    # capabilities.json names no address; the deploy pipeline adds one later.
    assert caps["supportedInterfaces"] == []
    # 0.2.9 agents spoke the message/send dialect that v0.3 clients use.
    assert card["supportedInterfaces"] == [
        {"url": "http://localhost:5000/", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}
    ]
    # Non-spec seed fields are dropped rather than smuggled into the card.
    assert "agentFramework" not in card and "chat_agent" not in card["capabilities"]
    assert "endpoints" not in caps


@pytest.mark.parametrize("name", ["currency_v1.json", "currency_v03.json", "v03_legacy_agent.json"])
def test_the_sdk_accepts_normalised_cards_as_spec_complete(name: str) -> None:
    validate_proto_required_fields(parse_card_proto(normalize_card(load(name))))


def test_defaults_are_filled_for_a_minimal_card() -> None:
    card = normalize_card(
        {"name": "Mini", "description": "d", "skills": ["Summarise Text", {"name": "Look Up"}]}
    )
    assert card["version"] == "0.0.0"
    assert card["defaultInputModes"] == ["text/plain"]
    assert card["defaultOutputModes"] == ["text/plain"]
    assert card["capabilities"] == {"streaming": False, "pushNotifications": False}
    assert [(s["id"], s["name"], s["description"]) for s in card["skills"]] == [
        ("summarise-text", "Summarise text", "Summarise text"),
        ("look-up", "Look Up", "Look Up"),
    ]


def test_binding_aliases_and_versions_are_canonicalised() -> None:
    card = normalize_card(
        {
            "name": "A",
            "description": "d",
            "supportedInterfaces": [
                {"url": "http://a:1/", "protocolBinding": "jsonrpc", "protocolVersion": "1.0.0"},
                {"url": "http://a:1/", "protocolBinding": "REST"},
                {"url": "a:2", "protocolBinding": "grpc", "protocolVersion": "0.3.0"},
            ],
        }
    )
    assert [(i["protocolBinding"], i["protocolVersion"]) for i in card["supportedInterfaces"]] == [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("GRPC", "0.3"),
    ]


def test_every_problem_is_reported_with_its_json_path() -> None:
    errors = errors_of(load("broken_types.json"))
    assert set(errors) == {
        "$.supportedInterfaces[0].url",
        "$.supportedInterfaces[1].protocolBinding",
        "$.supportedInterfaces[2].protocolVersion",
        "$.capabilities.streaming",
        "$.defaultInputModes",
        "$.skills[1].id",
        "$.skills[2].id",
        "$.skills[3]",
        "$.skills[4].tags",
    }
    assert "absolute http(s) URL" in errors["$.supportedInterfaces[0].url"]
    assert "'SOAP'" in errors["$.supportedInterfaces[1].protocolBinding"]
    assert "duplicate skill id 'ok'" in errors["$.skills[1].id"]
    assert "$.skills[0]" in errors["$.skills[1].id"]
    assert "must be a string, got a number" in errors["$.skills[2].id"]


def test_v03_problems_point_at_the_v03_fields() -> None:
    errors = errors_of(load("broken_v03.json"))
    assert set(errors) == {
        "$.name",
        "$.url",
        "$.preferredTransport",
        "$.additionalInterfaces[1]",
    }


def test_the_message_names_the_first_problem_and_counts_the_rest() -> None:
    with pytest.raises(InvalidCard) as info:
        normalize_card(load("broken_types.json"))
    assert info.value.message.startswith("agent card 'Broken Agent' is invalid: $.supported")
    assert "(and 8 more)" in info.value.message
    assert info.value.code == "invalid_card"


@pytest.mark.parametrize(
    ("name", "message"),
    [("broken_not_object.json", "must be an object"), ("broken_not_json.json", "not valid JSON")],
)
def test_documents_that_are_not_cards_at_all(name: str, message: str) -> None:
    errors = errors_of((CARDS / name).read_bytes())
    assert list(errors) == ["$"]
    assert message in errors["$"]


def test_missing_required_fields() -> None:
    errors = errors_of({"skills": []})
    assert errors == {"$.name": "is required", "$.description": "is required"}


def test_a_live_agent_card_must_say_where_it_listens() -> None:
    doc = load("seed_capabilities.json")
    assert normalize_card(doc)["supportedInterfaces"] == []
    with pytest.raises(InvalidCard) as info:
        normalize_card(doc, require_interface=True)
    assert info.value.details[0]["path"] == "$.url"


def test_malformed_security_schemes_are_rejected_by_the_sdk_parse() -> None:
    errors = errors_of(
        {"name": "S", "description": "d", "securitySchemes": {"k": {"apiKeySecurityScheme": 5}}}
    )
    assert list(errors) == ["$.securitySchemes"]


def test_oversize_cards_are_refused_before_parsing() -> None:
    doc = load("currency_v1.json")
    doc["description"] = "x" * (256 * 1024)
    with pytest.raises(PayloadTooLarge) as info:
        normalize_card(doc)
    assert info.value.details["limit"] == 256 * 1024
    raw = (CARDS / "currency_v1.json").read_bytes()
    with pytest.raises(PayloadTooLarge):
        normalize_card(raw, limit=len(raw) - 1)
    assert normalize_card(raw, limit=len(raw))["name"] == "Currency Agent"
