"""The price table: matching model names, overrides, and errors that name the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentops_tui.pricing import PriceTable, PricingError

from conftest import start_server
from factories import started, usage


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("Claude-Opus-4-1", "claude-opus-4-1"),
        ("anthropic/claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
        ("claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("openrouter/openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("o3-mini", "o3-mini"),
        ("o3-2025-04-16", "o3"),
    ],
)
def test_names_match_exactly_or_by_prefix(table: PriceTable, model: str, entry: str) -> None:
    assert table.lookup(model) == table.prices[entry]


@pytest.mark.parametrize("model", ["gpt-5x", "o3x", "claude", "llama-3-70b", ""])
def test_prefixes_only_match_at_a_separator(table: PriceTable, model: str) -> None:
    assert table.lookup(model) is None


def test_cost_and_unknown_models() -> None:
    t = PriceTable.load()
    c = t.cost("claude-sonnet-4", 1_000_000, 100_000, 200_000, 40_000)
    assert (c.usd, c.known) == (4.71, True)
    assert t.cost("gpt-5-nano", 1, 0).usd == 5e-08
    unknown = t.cost("home-grown-llm", 10**9, 10**9)
    assert (unknown.usd, unknown.known) == (0.0, False)
    assert t.cost(None, 10, 10).known is False
    assert t.unknown_models == {"home-grown-llm"}


def test_override_file_replaces_and_adds(tmp_path: Path) -> None:
    override = tmp_path / "pricing.toml"
    override.write_text(
        '[models."claude-sonnet-4"]\ninput = 1\noutput = 2\n\n'
        '[models."home-grown-llm"]\ninput = 0.5\noutput = 1.5\ncache_read = 0.05\n'
    )
    t = PriceTable.load(override)
    assert t.cost("claude-sonnet-4-20250514", 1_000_000, 1_000_000).usd == 3.0
    assert t.cost("home-grown-llm", 2_000_000, 0, 1_000_000).usd == 1.05
    assert t.cost("gpt-4o", 1_000_000, 0).usd == 2.5  # bundled entries stay
    assert PriceTable.load(tmp_path / "missing.toml").prices == PriceTable.load().prices


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[models\n", "pricing.toml"),
        ('[models."x"]\ninput = "cheap"\noutput = 1\n', "models.x.input: must be a number"),
        ('[models."x"]\ninput = -1\noutput = 1\n', "models.x.input: cannot be negative"),
        ('[models."x"]\ninput = 1\noutput = 1\nouput = 2\n', "models.x.ouput: unknown key"),
        ('[models."x"]\ninput = 1\n', "models.x: needs both input and output"),
        ('[models."x"]\ninput = true\noutput = 1\n', "models.x.input: must be a number"),
        ("models = 3\n", "[models] must be a table"),
        ('[models]\nx = 3\n', "models.x must be a table"),
    ],
)
def test_bad_override_files_name_the_file_and_entry(
    tmp_path: Path, text: str, needle: str
) -> None:
    override = tmp_path / "pricing.toml"
    override.write_text(text)
    with pytest.raises(PricingError) as err:
        PriceTable.load(override)
    assert str(override) in str(err.value) and needle in str(err.value)


def test_server_prices_with_the_override_file(tmp_path: Path) -> None:
    override = tmp_path / "pricing.toml"
    override.write_text('[models."home-grown-llm"]\ninput = 10\noutput = 20\n')
    srv = start_server(tmp_path / "p.db", prices_override=override)
    try:
        with srv.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                started(), usage(inp=100_000, out=50_000, model="home-grown-llm"),
            ]}).raise_for_status()
            s = c.get("/api/v1/sessions/se-1").json()
            costs = c.get("/api/v1/costs", params={"group_by": "model"}).json()
    finally:
        srv.server.stop()
    assert s["cost_usd"] == 2.0
    assert costs["rows"][0]["key"] == "home-grown-llm" and costs["total_usd"] == 2.0
