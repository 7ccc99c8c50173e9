"""Model prices from the maintained `genai-prices` database (Pydantic), read offline.

The package ships its data as Python; we read that bundled snapshot only. It can also fetch
fresh prices from the internet (`UpdatePrices`), which we never start: the backend must price
the same way with no network, and new prices arrive with a package upgrade.

`genai-prices` computes a whole bill with Decimals (~100 µs a call), too slow for every usage
event, so a model's prices are turned once into our `Price` (floats, per million tokens) and
the arithmetic stays ours. Its matching does the hard part: dated ids
(`claude-sonnet-4-5-20250929`, `o3-2025-04-16`) resolve to their family.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, TieredPrices

    from agentops_tui.pricing import Price

# Usage keys we count, and the `genai-prices` price keys for them (per million tokens).
_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


@cache
def _snapshot() -> DataSnapshot:
    """The bundled data, never a downloaded one (~25 ms import + ~75 ms to build, once)."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


def forget() -> None:
    """Drop what the catalogue remembers of past lookups (an entry per distinct name asked);
    the data stays imported, so the next lookup only rebuilds the empty caches."""
    _snapshot.cache_clear()


def warm_in_background() -> None:
    """Load the data off the caller's thread, so the first usage report does not wait."""
    threading.Thread(target=_snapshot, name="price-catalogue", daemon=True).start()


def find(model: str, bare: str) -> CatalogueModel | None:
    """The catalogue's entry for `model`; `bare` is the name without routing decorations.

    A `provider/` path names where the call went (`groq/...`, `openrouter/...`): that
    provider's price comes first, then whichever provider the name itself points to.
    """
    snapshot = _snapshot()
    hints = [p for p in model.strip().lower().split("/")[:-1] if p]
    for provider_id in [*hints, None]:
        try:
            _, info = snapshot.find_provider_model(bare, None, provider_id, None)
        except LookupError:
            continue
        return CatalogueModel(info)
    return None


@dataclass(eq=False)
class CatalogueModel:
    """One model's prices; some change on a date or by time of day, so they are read per use."""

    info: ModelInfo
    _converted: dict[int, Price | None] = field(default_factory=dict)

    def current(self) -> Price | None:
        # Without a request context `get_prices` hands back one of the model's own stored
        # ModelPrice objects, so its id is a stable key for the conversion.
        prices = self.info.get_prices(datetime.now(UTC))
        key = id(prices)
        if key not in self._converted:
            self._converted[key] = _convert(prices)
        return self._converted[key]


def _convert(prices: ModelPrice) -> Price | None:
    """Our four prices from theirs; None when the model is not priced by input tokens.

    A cache price the provider does not list is charged as input (their rule too). Tiered
    prices ("above 200k input tokens, everything costs more") become one `Price` per tier.
    """
    from genai_prices.types import TieredPrices

    from agentops_tui.pricing import Price

    values: list[Decimal | TieredPrices | None] = [getattr(prices, k) for k in _KEYS]
    if values[0] is None:
        return None
    if values[1] is None:
        values[1] = Decimal(0)
    values[2] = values[0] if values[2] is None else values[2]
    values[3] = values[0] if values[3] is None else values[3]
    starts = sorted({t.start for v in values if isinstance(v, TieredPrices) for t in v.tiers})

    def at(input_tokens: int) -> tuple[float, float, float, float]:
        a, b, c, d = (_at(v, input_tokens) for v in values)
        return a, b, c, d

    tiers = tuple((start, Price(*at(start + 1))) for start in starts)
    return Price(*at(0), tiers=tiers)


def _at(value: Decimal | TieredPrices | None, input_tokens: int) -> float:
    """The price per million tokens that applies when a call reads `input_tokens`."""
    from genai_prices.types import TieredPrices

    if value is None:
        return 0.0
    if not isinstance(value, TieredPrices):
        return float(value)
    price = value.base
    for tier in value.tiers:  # ascending; their rule: above a tier's start, its price
        if input_tokens > tier.start:
            price = tier.price
    return float(price)
