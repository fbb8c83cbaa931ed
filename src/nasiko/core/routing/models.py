"""What the router takes in (agent cards, reduced to the fields it ranks on) and gives back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from nasiko.errors import InvalidCard


class RouteCandidate(BaseModel):
    agent_id: str = Field(description="Id the agent was indexed under.")
    name: str = Field(description="The agent card's name.")
    score: float = Field(description="Fused relevance score; higher is better, roughly 0..1.")
    skill_id: str | None = Field(None, description="Id of the skill that matched best.")
    skill_name: str | None = Field(None, description="Name of the skill that matched best.")


class RouteResult(BaseModel):
    query: str
    candidates: list[RouteCandidate] = Field(
        default_factory=list, description="Agents the caller may use, best first."
    )
    no_match: bool = Field(description="True when no agent passed the relevance threshold.")
    reason: str = Field(description="Why this answer: hybrid, sticky, llm, no_match, ...")
    threshold: float = Field(description="The 'no agent fits' threshold in force.")

    @property
    def best(self) -> RouteCandidate | None:
        return None if self.no_match or not self.candidates else self.candidates[0]


@dataclass(frozen=True)
class SkillDoc:
    id: str
    name: str
    description: str
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentDoc:
    """The parts of an A2A card the router ranks on."""

    name: str
    description: str
    skills: tuple[SkillDoc, ...] = field(default_factory=tuple)


_SPLIT_NAME = re.compile(r"[_\-]+|(?<=[a-z])(?=[A-Z])")


def readable_name(name: str) -> str:
    """``"RentalCars_1"`` -> ``"Rental Cars 1"``: the embedder reads words, not identifiers."""
    return " ".join(part for part in _SPLIT_NAME.split(name) if part)


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidCard(f"{path} must be a list of strings", details={"path": path})
    return tuple(v for v in value if v.strip())


def _text(card: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
    value = card.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidCard(
            f"{path}.{key} must be a {'non-empty ' if required else ''}string",
            details={"path": f"{path}.{key}"},
        )
    return value.strip()


def parse_card(card: Mapping[str, Any]) -> AgentDoc:
    """Read an A2A v1.0 card dict; raises InvalidCard naming the offending JSON path."""
    if not isinstance(card, Mapping):
        raise InvalidCard("an agent card must be a JSON object", details={"path": "$"})
    name = _text(card, "name", "$", required=True)
    description = _text(card, "description", "$", required=False)
    raw_skills = card.get("skills") or []
    if not isinstance(raw_skills, list):
        raise InvalidCard("$.skills must be a list", details={"path": "$.skills"})
    skills = []
    for i, raw in enumerate(raw_skills):
        path = f"$.skills[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidCard(f"{path} must be an object", details={"path": path})
        skill_name = _text(raw, "name", path, required=False)
        skill_id = _text(raw, "id", path, required=False) or skill_name or str(i)
        skills.append(
            SkillDoc(
                id=skill_id,
                name=skill_name or skill_id,
                description=_text(raw, "description", path, required=False),
                tags=_strings(raw.get("tags"), f"{path}.tags"),
                examples=_strings(raw.get("examples"), f"{path}.examples"),
            )
        )
    return AgentDoc(name=name, description=description, skills=tuple(skills))


def agent_text(doc: AgentDoc) -> str:
    """The agent as one passage: what it is, then what each skill does."""
    parts = [f"{readable_name(doc.name)}: {doc.description}".rstrip(": ")]
    if doc.skills:
        parts.append("Skills: " + "; ".join(f"{s.name}: {s.description}" for s in doc.skills))
    return ". ".join(parts)


def skill_text(doc: AgentDoc, skill: SkillDoc) -> str:
    """One skill in the context of its agent, so a bare "Search" still says search for what."""
    head = f"{readable_name(doc.name)}: {doc.description}".rstrip(": ")
    body = f"{skill.name}: {skill.description}".rstrip(": ")
    if skill.tags:
        body += f" ({', '.join(skill.tags)})"
    return f"{head}. {body}"


def lexical_fields(doc: AgentDoc) -> dict[str, list[str]]:
    return {
        "name": [doc.name],
        "description": [doc.description],
        "skill_name": [s.name for s in doc.skills],
        "skill_description": [s.description for s in doc.skills],
        "tags": [t for s in doc.skills for t in s.tags],
        "examples": [e for s in doc.skills for e in s.examples],
    }
