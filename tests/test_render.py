"""tui.render: pure functions, no app."""

from __future__ import annotations

from agentops_tui.models import Agent, Command, Session
from agentops_tui.tui import render


def test_money_tokens_duration() -> None:
    assert [render.money(x) for x in (0, 0.0042, 0.42, 12.3, 1234.5)] == [
        "$0", "$0.0042", "$0.42", "$12.30", "$1,234"]
    assert [render.tokens(x) for x in (999, 1500, 2_500_000, 3_000_000_000)] == [
        "999", "1.5k", "2.5M", "3.0B"]
    assert [render.duration(x) for x in (5, 65, 3700, 90000)] == ["5s", "1m05s", "1h01m", "1d01h"]
    assert render.ago(0, 100) == "never" and render.ago(95, 100) == "5s ago"


def test_glyphs_and_styles() -> None:
    assert render.glyph("waiting") == ("?", "status-waiting")
    assert render.glyph("failed") == ("✖", "status-error")
    assert render.glyph("completed")[1] == "status-ended"


def _command(status: str) -> Command:
    return Command(id="c", session_id="s", agent_id="a", action="pause", status=status,
                   issued_by="op", issued_at=0, updated_at=0, expires_at=30)


def test_pending_labels() -> None:
    assert render.pending_label(None) == ""
    assert render.pending_label(_command("pending")) == "⏳pause"
    assert render.pending_label(_command("delivered")) == "⏳pause"
    assert render.pending_label(_command("expired")) == "✖pause expired"
    assert render.pending_label(_command("acked")) == ""


def test_rows() -> None:
    agent = Agent(id="a", name="coder-1", kind="coder", model="claude-sonnet-4",
                  status="running", last_seen=90)
    s1 = Session(id="s1", agent_id="a", status="running", started_at=10, last_activity=95,
                 input_tokens=1000, output_tokens=500, cost_usd=0.25, title="fix bug")
    s2 = Session(id="s2", agent_id="a", status="completed", started_at=0, ended_at=20,
                 last_activity=20, cost_usd=1.0)
    summary = render.summarize(agent, [s1, s2])
    assert (summary.sessions, summary.active, summary.tokens) == (2, 1, 1500)
    cells = render.agent_cells(summary, now=100, marked=True)
    assert [c[0] for c in cells] == ["●", "▶", "coder-1", "coder", "claude-sonnet-4", "1/2",
                                     "1.5k", "$1.25", "5s ago"]
    row = render.session_cells(s1, now=100, command=_command("pending"), indent=2)
    assert row[2][0] == "  └ fix bug" and row[3] == ("⏳pause", "pending")
    assert row[-1][0] == "1m30s"


def test_filter_syntax() -> None:
    kw = {"name": "coder-7", "status": "waiting", "model": "claude-opus-4-1", "kind": "coder"}
    assert render.matches("", **kw)
    assert render.matches("coder status:wait model:opus", **kw)
    assert not render.matches("status:running", **kw)
    assert not render.matches("model:gpt", **kw)
    assert render.matches("kind:cod 7", **kw)
    assert not render.matches("reviewer", **kw)
