"""Model prices and the cost of a usage report.

Prices are USD per million tokens, from three layers, first match wins: the user's
`pricing.toml`, our bundled `data/prices.toml` (corrections only, usually empty), then the
`genai-prices` database (see `price_catalogue`). In our two files an entry matches its exact
name and that name with a date or version after it ("claude-sonnet-4-5" prices
"claude-sonnet-4-5-20250929" and "...-v1:0", but "claude-sonnet-4" never prices
"claude-sonnet-4-5", nor "o3" "o3-mini"). Routing decorations are ignored: a "provider/" path
and a Bedrock-style "us.anthropic." prefix. A model with no price costs zero, `known=False`,
and is remembered in `unknown_models`, so the console can say the figure is partial.
"""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agentops_tui import price_catalogue
from agentops_tui.price_catalogue import CatalogueModel

PER_TOKENS = 1_000_000
# Bedrock and similar gateways put a region and a vendor in front of the model name.
_VENDOR_PREFIX = re.compile(
    r"^(?:[a-z]{2}\.)?(?:anthropic|openai|google|meta|mistral|amazon|cohere|deepseek)\."
)
# What may follow a name in our price files and still be that model: dates (20250929,
# 2025-04-16, Vertex's @20241022, OpenAI's -0613), Bedrock versions (-v1:0) and "-latest".
_DECORATIONS = re.compile(
    r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|latest)|-v\d+(?::\d+)?|:\d+)+$"
)
# Distinct model names priced before the memo starts again (names come from clients).
_MAX_REMEMBERED = 10_000


class PricingError(ValueError):
    """A price file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float
    # (input tokens a call must exceed, the prices that then apply to all of it), ascending:
    # "above 200k tokens of context, every token of the call costs more".
    tiers: tuple[tuple[int, Price], ...] = ()

    def for_call(self, input_tokens: int) -> Price:
        chosen = self
        for start, price in self.tiers:
            if input_tokens > start:
                chosen = price
        return chosen


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
            raw = entry.get(key, values.get("input"))  # an unlisted cache price: as input
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise PricingError(
                    f"{source}: models.{name}.{key}: must be a number (USD per 1M tokens),"
                    f" got {raw!r}"
                )
            if raw < 0:
                raise PricingError(f"{source}: models.{name}.{key}: cannot be negative")
            values[key] = float(raw)
        prices[name.lower()] = Price(
            values["input"], values["output"], values["cache_read"], values["cache_write"]
        )
    return prices


def normalize(model: str) -> str:
    """The model name without routing decorations: what prices are keyed by."""
    bare = model.strip().lower().rsplit("/", 1)[-1]
    return _VENDOR_PREFIX.sub("", bare)


class PriceTable:
    def __init__(
        self, prices: dict[str, Price], *, catalogue: bool = True
    ) -> None:
        self.prices = prices  # the user's and our own entries, the user's laid over ours
        self.catalogue = catalogue
        self._memo: dict[str, Price | CatalogueModel | None] = {}
        self._lock = threading.Lock()  # requests price batches on several threads
        self.unknown_models: set[str] = set()

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        ours = resources.files("agentops_tui").joinpath("data/prices.toml").read_text()
        prices = _parse(ours, "bundled prices.toml")
        if override is not None and override.exists():
            try:
                text = override.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PricingError(f"{override}: cannot be read: {exc}") from None
            prices.update(_parse(text, str(override)))
        price_catalogue.warm_in_background()
        return cls(prices)

    def lookup(self, model: str | None) -> Price | None:
        if not model:
            return None
        found = self._memo.get(model, False)
        if found is False:
            found = self._resolve(model)
            with self._lock:
                if len(self._memo) >= _MAX_REMEMBERED:
                    self._memo.clear()
                    price_catalogue.forget()
                self._memo[model] = found
        if isinstance(found, CatalogueModel):
            return found.current()  # may change with the date or the hour
        return found  # type: ignore[return-value]

    def _resolve(self, model: str) -> Price | CatalogueModel | None:
        bare = normalize(model)
        own = self.prices.get(bare) or self.prices.get(_DECORATIONS.sub("", bare))
        if own is not None or not self.catalogue:
            return own
        return price_catalogue.find(model, bare)

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
                    if len(self.unknown_models) < _MAX_REMEMBERED:
                        self.unknown_models.add(model)
            return Cost(0.0, False)
        if price.tiers:
            price = price.for_call(input_tokens + cache_read_tokens + cache_write_tokens)
        usd = (
            input_tokens * price.input
            + output_tokens * price.output
            + cache_read_tokens * price.cache_read
            + cache_write_tokens * price.cache_write
        ) / PER_TOKENS
        return Cost(round(usd, 10), True)
