"""The price table: published prices, dated and routed ids, overrides, offline data, and
errors that name the entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_tui.client.connection import Connection
from agentops_tui.pricing import PriceTable, PricingError
from agentops_tui.tui import render
from agentops_tui.tui.app import create_app
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer, start_server
from factories import started, usage
from tui_support import frozen_clock, seed, until


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


# Published list prices, USD per million tokens: input, output, cache read, cache write (5 min).
PUBLISHED = {
    "claude-sonnet-4-5": (3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4-5": (1.0, 5.0, 0.10, 1.25),
    "claude-opus-4-5": (5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-1": (15.0, 75.0, 1.50, 18.75),
    "gpt-4o": (2.5, 10.0, 1.25, 2.5),  # no cache-write price: such tokens are plain input
}


@pytest.mark.parametrize(("model", "published"), PUBLISHED.items())
def test_cost_of_each_kind_of_token_matches_the_published_price(
    table: PriceTable, model: str, published: tuple[float, float, float, float]
) -> None:
    # 100k tokens (a long context may cost more per token: see the tier test below)
    per_million = [
        10 * table.cost(model, 100_000, 0).usd,
        10 * table.cost(model, 0, 100_000).usd,
        10 * table.cost(model, 0, 0, 100_000).usd,
        10 * table.cost(model, 0, 0, 0, 100_000).usd,
    ]
    assert per_million == pytest.approx(published)
    assert table.cost(model, 2_000, 300, 40_000, 5_000).usd == pytest.approx(
        (2_000 * published[0] + 300 * published[1] + 40_000 * published[2]
         + 5_000 * published[3]) / 1e6
    )


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("Claude-Opus-4-1", "claude-opus-4-1"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("bedrock/us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("openrouter/openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o3-2025-04-16", "o3"),
    ],
)
def test_dated_and_routed_ids_cost_what_their_family_costs(
    table: PriceTable, model: str, family: str
) -> None:
    price = table.lookup(family)
    assert price is not None and table.lookup(model) == price
    assert table.cost(model, 1000, 100, 10, 1).known


@pytest.mark.parametrize(
    "model",
    # Claude Code 2.1.x picks "sonnet" (API key) or "opus" (subscription) by default; its
    # model catalogue maps them to these, Bedrock's sonnet to claude-sonnet-4-5.
    ["claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5", "claude-sonnet-4-6",
     "claude-opus-4-7", "gpt-5", "gemini-2.5-pro"],
)
def test_todays_models_have_prices(table: PriceTable, model: str) -> None:
    assert table.cost(model, 1000, 1000).usd > 0


@pytest.mark.parametrize(
    "model", ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "gpt-4o-mini",
              "o3-mini", "claude-opus-4-6", "gemini-2.5-pro", "deepseek-chat"]
)
def test_our_arithmetic_agrees_with_the_database_own(table: PriceTable, model: str) -> None:
    from genai_prices import Usage, calc_price

    for inp, out, read, write in [(1200, 300, 9000, 400), (150_000, 2000, 60_000, 0)]:
        theirs = calc_price(Usage(input_tokens=inp + read + write, output_tokens=out,
                                  cache_read_tokens=read, cache_write_tokens=write), model)
        ours = table.cost(model, inp, out, read, write)
        assert ours.usd == pytest.approx(float(theirs.total_price), rel=1e-9)


def test_a_long_call_pays_the_higher_tier(table: PriceTable) -> None:
    # claude-sonnet-4-5: above 200k tokens of input, every token of the call costs more
    assert table.cost("claude-sonnet-4-5", 150_000, 0, 50_000).usd == pytest.approx(0.465)
    assert table.cost("claude-sonnet-4-5", 150_001, 1000, 50_000).usd == pytest.approx(
        (150_001 * 6 + 1000 * 22.5 + 50_000 * 0.6) / 1e6
    )


@pytest.mark.parametrize("model", ["gpt-5x", "o3x", "claude", "llama-3-70b", "mystery-model", ""])
def test_names_that_are_no_model_have_no_price(table: PriceTable, model: str) -> None:
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


def test_override_file_wins_and_adds(tmp_path: Path) -> None:
    override = tmp_path / "pricing.toml"
    override.write_text(
        '[models."claude-sonnet-4"]\ninput = 1\noutput = 2\n\n'
        '[models."home-grown-llm"]\ninput = 0.5\noutput = 1.5\ncache_read = 0.05\n'
    )
    t = PriceTable.load(override)
    assert t.cost("claude-sonnet-4-20250514", 1_000_000, 1_000_000).usd == 3.0
    assert t.cost("anthropic/claude-sonnet-4@20250514", 1_000_000, 0).usd == 1.0
    assert t.cost("home-grown-llm", 2_000_000, 0, 1_000_000).usd == 1.05
    # an unlisted cache price is charged as input
    assert t.cost("home-grown-llm", 0, 0, 0, 1_000_000).usd == 0.5
    # "claude-sonnet-4" is not "claude-sonnet-4-5": that one keeps the database's price
    assert t.cost("claude-sonnet-4-5-20250929", 100_000, 0).usd == 0.3
    assert t.cost("gpt-4o", 1_000_000, 0).usd == 2.5
    assert PriceTable.load(tmp_path / "missing.toml").prices == PriceTable.load().prices


def test_prices_never_come_from_the_network() -> None:
    """The backend prices offline: genai-prices' updater stays off, no socket is opened."""
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network used: %r' % (a,))\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from agentops_tui import price_catalogue\n"
        "from agentops_tui.pricing import PriceTable\n"
        "t = PriceTable.load()\n"
        "assert t.cost('claude-sonnet-4-5-20250929', 1000, 1000).known\n"
        "assert not t.cost('mystery-model', 1, 1).known\n"
        "import genai_prices.data_snapshot as d\n"
        "assert d.get_snapshot().from_auto_update is False\n"
        "print('offline ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          timeout=60)
    assert done.returncode == 0 and "offline ok" in done.stdout, done.stderr


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


def test_a_session_with_an_unpriced_model_says_its_cost_is_partial(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    srv = start_server(db)
    try:
        with srv.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                started("se-1"), usage("se-1", model="claude-sonnet-4-5-20250929"),
                started("se-2"), usage("se-2", model="claude-sonnet-4-5"),
                usage("se-2", model="mystery-model"), usage("se-2", model="claude-sonnet-4-5"),
            ]}).raise_for_status()
            live = {s: c.get(f"/api/v1/sessions/{s}").json() for s in ("se-1", "se-2")}
            snapshot = {s["id"]: s for s in c.get("/api/v1/snapshot").json()["sessions"]}
    finally:
        srv.server.stop()
    assert live["se-1"]["priced"] is True and live["se-1"]["cost_usd"] == 0.0045
    assert live["se-2"]["priced"] is False and live["se-2"]["cost_usd"] == 0.009
    assert snapshot["se-2"]["priced"] is False and snapshot["se-1"]["priced"] is True
    srv = start_server(db)  # the flag is part of the stored session, not of memory
    try:
        with srv.client() as c:
            assert c.get("/api/v1/sessions/se-2").json()["priced"] is False
    finally:
        srv.server.stop()


async def test_the_console_marks_a_partial_cost_wherever_it_shows_one(live: LiveServer) -> None:
    with live.client() as c:
        seed(c)
        c.post("/api/v1/ingest", json={"events": [
            usage("se-root", inp=5000, out=500, model="home-grown-llm"),
        ]}).raise_for_status()
        coder_cost = next(r["cost_usd"] for r in c.get("/api/v1/costs").json()["rows"]
                          if r["name"] == "coder-1")
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        roster = app.screen.query_one("#roster", VirtualTable)
        await until(pilot, lambda: "ag-coder" in roster.keys, what="the roster")
        assert roster._cells("ag-coder")[7][0].endswith("+")
        assert roster._cells("ag-triage")[7][0] == "$0"  # nothing spent, nothing unpriced
        roster.move_to("ag-coder")
        sessions = app.screen.query_one("#sessions", VirtualTable)
        await until(pilot, lambda: "se-root" in sessions.keys, what="the coder's sessions")
        root_cost = sessions._cells("se-root")[6][0]
        assert root_cost == render.money(app.fleet.sessions["se-root"].cost_usd) + "+"
        await pilot.press("2")
        tree = app.screen.query_one("#tree", VirtualTable)
        await until(pilot, lambda: "se-root" in tree.keys, what="tree rows")
        assert tree._cells("se-root")[6][0].endswith("+")
        await pilot.press("4")
        agents = app.screen.query_one("#costs-agents")
        await until(pilot, lambda: "coder-1" in str(agents.render()), what="cost rows")
        assert render.money(coder_cost) + "+" in str(agents.render())
        title = str(app.screen.query_one("#costs-title").render())
        assert "+ (trend" in title and "no price for home-grown-llm" in title
