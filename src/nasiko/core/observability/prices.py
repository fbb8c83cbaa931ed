"""Model prices: a table shipped with defaults (prices.json), extended by settings.

table = PriceTable.load(overrides={"my-model": (1.0, 2.0)})
table.cost("gpt-4o-mini-2024-07-18", 1000, 200)  # priced as gpt-4o-mini
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources

# Providers and gateways prefix model names ("openai/gpt-4o", "models/gemini-2.0-flash").
_PREFIXES = ("models/", "openai/", "anthropic/", "google/", "gemini/", "azure/", "bedrock/")
_SNAPSHOT_SEPARATORS = ("-", ":", "@", ".")


def default_prices() -> dict[str, tuple[float, float]]:
    raw = json.loads(resources.files(__package__).joinpath("prices.json").read_text())
    return {k: (float(v[0]), float(v[1])) for k, v in raw.items() if not k.startswith("_")}


def normalise_model(model: str) -> str:
    name = model.strip().lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


class PriceTable:
    """USD per 1M input and output tokens, looked up by exact name or snapshot prefix."""

    def __init__(self, prices: Mapping[str, tuple[float, float]]) -> None:
        self._prices = {normalise_model(k): (float(v[0]), float(v[1])) for k, v in prices.items()}
        # Longest first, so "gpt-4o-mini-2024-07-18" finds gpt-4o-mini before gpt-4o.
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._cache: dict[str, tuple[float, float] | None] = {}

    @classmethod
    def load(cls, overrides: Mapping[str, tuple[float, float]] | None = None) -> PriceTable:
        prices = default_prices()
        prices.update(overrides or {})
        return cls(prices)

    def price(self, model: str) -> tuple[float, float] | None:
        if model in self._cache:
            return self._cache[model]
        name = normalise_model(model)
        found = self._prices.get(name)
        if found is None:
            for key in self._by_length:
                if name.startswith(key) and name[len(key)] in _SNAPSHOT_SEPARATORS:
                    found = self._prices[key]
                    break
        self._cache[model] = found
        return found

    def cost(
        self, model: str | None, input_tokens: int | None, output_tokens: int | None
    ) -> float | None:
        """The cost in USD, or None when the model is unknown or no tokens were counted."""
        if not model or (input_tokens is None and output_tokens is None):
            return None
        price = self.price(model)
        if price is None:
            return None
        return ((input_tokens or 0) * price[0] + (output_tokens or 0) * price[1]) / 1_000_000
