"""Model prices (bundled TOML plus user overrides) and the cost of a usage report.

Prices are USD per million tokens. A model name matches an entry exactly or by its longest
prefix that ends at a separator ("claude-sonnet-4-5-20250929" uses "claude-sonnet-4-5", but
"o3-mini" never falls back to "o3"). Routing decorations are ignored: a "provider/" path, a
Bedrock-style "us.anthropic." prefix and a Vertex-style "@date" suffix. A model with no price
costs zero and is remembered in `unknown_models`, so the console can say the figure is partial.
"""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PER_TOKENS = 1_000_000
# What may follow a matched prefix: a date, a variant or a version tag.
_SEPARATORS = frozenset("-@:._")
# Bedrock and similar gateways put a region and a vendor in front of the model name.
_VENDOR_PREFIX = re.compile(
    r"^(?:[a-z]{2}\.)?(?:anthropic|openai|google|meta|mistral|amazon|cohere|deepseek)\."
)


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


_FIELDS = ("input", "output", "cache_read", "cache_write")


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
        unknown = sorted(set(entry) - set(_FIELDS))
        if unknown:
            raise PricingError(
                f"{source}: models.{name}.{unknown[0]}: unknown key"
                f" (use {', '.join(_FIELDS)})"
            )
        if "input" not in entry or "output" not in entry:
            raise PricingError(f"{source}: models.{name}: needs both input and output prices")
        values: dict[str, float] = {}
        for key in _FIELDS:
            raw = entry.get(key, 0.0)
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise PricingError(
                    f"{source}: models.{name}.{key}: must be a number (USD per 1M tokens),"
                    f" got {raw!r}"
                )
            if raw < 0:
                raise PricingError(f"{source}: models.{name}.{key}: cannot be negative")
            values[key] = float(raw)
        prices[name.lower()] = Price(**values)
    return prices


def normalize(model: str) -> str:
    """The part of a model name that prices are keyed by."""
    bare = model.strip().lower().rsplit("/", 1)[-1]
    return _VENDOR_PREFIX.sub("", bare)


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices
        # longest names first, so "gpt-4o-mini" wins over "gpt-4o"
        self._by_length = sorted(prices, key=len, reverse=True)
        self._cache: dict[str, Price | None] = {}
        self._lock = threading.Lock()  # requests price batches on several threads
        self.unknown_models: set[str] = set()

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        bundled = resources.files("agentops_tui").joinpath("data/prices.toml").read_text()
        prices = _parse(bundled, "bundled prices.toml")
        if override is not None and override.exists():
            try:
                text = override.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PricingError(f"{override}: cannot be read: {exc}") from None
            prices.update(_parse(text, str(override)))
        return cls(prices)

    def lookup(self, model: str | None) -> Price | None:
        if not model:
            return None
        key = model.lower()
        found = self._cache.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]
        bare = normalize(model)
        price = self.prices.get(bare)
        if price is None:
            price = next(
                (
                    self.prices[n]
                    for n in self._by_length
                    if bare.startswith(n) and bare[len(n)] in _SEPARATORS
                ),
                None,
            )
        with self._lock:
            self._cache[key] = price
        return price

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
                with self._lock:
                    self.unknown_models.add(model)
            return Cost(0.0, False)
        usd = (
            input_tokens * price.input
            + output_tokens * price.output
            + cache_read_tokens * price.cache_read
            + cache_write_tokens * price.cache_write
        ) / PER_TOKENS
        return Cost(round(usd, 10), True)
