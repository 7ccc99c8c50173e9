"""How a threshold reads in an alert's message, for units beyond money, ratios and minutes."""

from __future__ import annotations


def threshold_text(value: float, unit: str) -> str:
    """"2×" a baseline, "30,000 ms", "5,000,000 tokens"; a plain count as it is."""
    if unit == "times":
        return f"{value:g}×"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:g}"
