"""Model prices (bundled TOML plus user overrides) and the cost of a usage report."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PER_TOKENS = 1_000_000


class PricingError(ValueError):
    """A price file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cache_read: float = 0.0
    cache_write: float = 0.0


@dataclass(frozen=True, slots=True)
class Cost:
    usd: float
    known: bool  # False: the model has no price, so the cost is reported as zero


def _parse(text: str, source: str) -> dict[str, Price]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"{source}: {exc}") from None
    models = doc.get("models", {})
    if not isinstance(models, dict):
        raise PricingError(f"{source}: [models] must be a table")
    prices: dict[str, Price] = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise PricingError(f"{source}: models.{name} must be a table")
        try:
            values = {k: float(entry.get(k, 0.0)) for k in Price.__slots__}
        except (TypeError, ValueError):
            raise PricingError(f"{source}: models.{name}: prices must be numbers") from None
        if any(v < 0 for v in values.values()):
            raise PricingError(f"{source}: models.{name}: prices cannot be negative")
        prices[name.lower()] = Price(**values)
    return prices


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices
        # longest names first, so "gpt-4o-mini" wins over "gpt-4o"
        self._by_length = sorted(prices, key=len, reverse=True)
        self._cache: dict[str, Price | None] = {}
        self.unknown_models: set[str] = set()

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        bundled = resources.files("agentops_tui").joinpath("data/prices.toml").read_text()
        prices = _parse(bundled, "bundled prices.toml")
        if override is not None and override.exists():
            prices.update(_parse(override.read_text(encoding="utf-8"), str(override)))
        return cls(prices)

    def lookup(self, model: str | None) -> Price | None:
        if not model:
            return None
        key = model.lower()
        if key in self._cache:
            return self._cache[key]
        bare = key.rsplit("/", 1)[-1]
        found = self.prices.get(bare)
        if found is None:
            found = next(
                (self.prices[n] for n in self._by_length if bare.startswith(n)), None
            )
        self._cache[key] = found
        return found

    def cost(
        self,
        model: str | None,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> Cost:
        price = self.lookup(model)
        if price is None:
            if model:
                self.unknown_models.add(model)
            return Cost(0.0, False)
        usd = (
            input_tokens * price.input
            + output_tokens * price.output
            + cache_read_tokens * price.cache_read
            + cache_write_tokens * price.cache_write
        ) / PER_TOKENS
        return Cost(round(usd, 10), True)
