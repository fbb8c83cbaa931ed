"""Small A2A cards shared by the router tests."""

from __future__ import annotations

from typing import Any


def card(name: str, description: str, *skills: tuple[str, str, list[str]]) -> dict[str, Any]:
    """A small A2A v1.0 card: skills are (name, description, tags)."""
    return {
        "name": name,
        "description": description,
        "version": "1.0.0",
        "skills": [
            {
                "id": skill_name.lower().replace(" ", "-"),
                "name": skill_name,
                "description": skill_desc,
                "tags": tags,
                "examples": [],
            }
            for skill_name, skill_desc, tags in skills
        ],
    }


SAMPLE_CARDS: dict[str, dict[str, Any]] = {
    "weather": card(
        "Weather Oracle",
        "Forecasts and current conditions for any city",
        ("Get Forecast", "Weather forecast for the coming days in a place", ["weather"]),
        ("Current Conditions", "Temperature, wind and rain right now", ["weather"]),
    ),
    "flights": card(
        "Sky Booker",
        "Search and book airline flights",
        ("Search Flights", "Find one-way or return flights between two airports", ["flights"]),
        ("Book Flight", "Reserve seats on a chosen flight", ["flights", "booking"]),
    ),
    "translator": card(
        "Translator",
        "Translates text between languages",
        ("Translate Text", "Translate a passage into another language", ["translation"]),
    ),
    "github": card(
        "GitHub Agent",
        "Works with GitHub repositories, issues and pull requests",
        ("List Issues", "List open issues of a repository", ["github"]),
        ("Review Pull Request", "Summarise and review a pull request", ["github", "code"]),
    ),
    "restaurants": card(
        "Table Finder",
        "Find restaurants and reserve a table",
        ("Find Restaurants", "Search restaurants by cuisine and area", ["food"]),
        ("Reserve Table", "Book a table for a number of people at a time", ["food", "booking"]),
    ),
}
