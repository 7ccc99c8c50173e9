"""tui.render: pure functions, no app."""

from __future__ import annotations

from agentops_tui.core import tasks as task_math
from agentops_tui.core.tree import build_forest
from agentops_tui.models import Agent, Command, Session, Task
from agentops_tui.tui import board, render


def test_money_tokens_duration() -> None:
    assert [render.money(x) for x in (0, 0.0042, 0.42, 12.3, 1234.5)] == [
        "$0", "$0.0042", "$0.42", "$12.30", "$1,234"]
    assert [render.tokens(x) for x in (999, 1500, 2_500_000, 3_000_000_000)] == [
        "999", "1.5k", "2.5M", "3.0B"]
    assert [render.duration(x) for x in (5, 65, 3700, 90000)] == ["5s", "1m05s", "1h01m", "1d01h"]
    assert render.ago(0, 100) == "never" and render.ago(95, 100) == "5s ago"


def test_a_partial_cost_never_reads_as_a_plain_figure() -> None:
    assert [render.money(x, partial=True) for x in (0, 0.0042, 0.02, 1234.5)] == [
        "$?", "$0.0042+", "$0.02+", "$1,234+"]
    agent = Agent(id="a", name="coder-1", model="home-grown-llm")
    priced = Session(id="s1", agent_id="a", cost_usd=0.02, started_at=0, last_activity=1)
    unpriced = Session(id="s2", agent_id="a", priced=False, started_at=0, last_activity=1,
                       input_tokens=5000, model="home-grown-llm")
    assert render.session_cells(unpriced, now=10)[6][0] == "$?"
    assert render.session_cells(priced, now=10)[6][0] == "$0.02"
    both = render.summarize(agent, [priced, unpriced])
    assert render.agent_cells(both, now=10)[7][0] == "$0.02+"
    assert render.agent_cells(render.summarize(agent, [priced]), now=10)[7][0] == "$0.02"
    parent = priced.model_copy(update={"id": "p"})
    child = unpriced.model_copy(update={"parent_session_id": "p"})
    (root,) = build_forest({"p": parent, "s2": child}, {"p": ["s2"]})
    assert (root.priced, root.cost_usd, root.children[0].priced) == (False, 0.02, False)
    task = _task("t", "running")
    totals = task_math.rollup(task, [priced, unpriced], now=10)
    assert not totals.priced and task_math.rollup(task, [priced], now=10).priced
    facts = board.CardFacts(task, sessions=2, active_sessions=2, cost_usd=0.02, priced=False)
    assert _texts(board.card(facts, now=0))[2] == "▶ 2/2  $0.02+"


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
                 last_activity=20, cost_usd=1.0, cache_read_tokens=200, cache_write_tokens=100)
    s3 = Session(id="s3", agent_id="a", status="paused", started_at=0, last_activity=30)
    summary = render.summarize(agent, [s1, s2, s3])
    assert (summary.sessions, summary.active, summary.tokens) == (3, 2, 1800)
    assert (summary.cost_usd, summary.last_activity) == (1.25, 95)
    cells = render.agent_cells(summary, now=100, marked=True)
    assert [c[0] for c in cells] == ["●", "▶", "coder-1", "coder", "claude-sonnet-4", "2/3",
                                     "1.8k", "$1.25", "5s ago"]
    idle = render.summarize(agent, [])
    assert (idle.sessions, idle.active, idle.tokens, idle.last_activity) == (0, 0, 0, 90)
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


def _task(id_: str, status: str = "inbox", **kw: object) -> Task:
    base: dict[str, object] = {"id": id_, "queue_id": "q1", "name": f"task {id_}",
                               "status": status, "created_at": 10.0}
    return Task.model_validate({**base, **kw})


def _texts(lines: list[board.Line]) -> list[str]:
    return ["".join(text for text, _ in line) for line in lines]


def test_board_columns_sort_open_by_pick_order_and_finished_newest_first() -> None:
    tasks = [
        _task("old3", priority=3, created_at=1), _task("new3", priority=3, created_at=5),
        _task("urgent", priority=5, created_at=9), _task("due", priority=3, deadline=50),
        _task("run", "running", assignee="a"),
        *(_task(f"done{i}", "complete", finished_at=float(i)) for i in range(5)),
        _task("bad", "failed", finished_at=3.0, error="boom"),
    ]
    cols = {c.status: c for c in board.columns(tasks, finished_shown=3)}
    assert [c.title for c in board.columns([])] == [
        "Inbox", "Assigned", "Running", "Complete", "Failed"]
    assert cols["inbox"].task_ids == ("urgent", "due", "old3", "new3")
    assert cols["running"].task_ids == ("run",) and cols["assigned"].task_ids == ()
    assert cols["complete"].task_ids == ("done4", "done3", "done2")
    assert (cols["complete"].total, cols["complete"].hidden) == (5, 2)
    assert cols["failed"].task_ids == ("bad",) and cols["failed"].hidden == 0


def test_board_deadlines_and_sla_marks() -> None:
    now = 10_000.0
    assert board.span(45) == "45s" and board.span(720) == "12m"
    assert board.span(7200) == "2h" and board.span(3 * 86400) == "3d"
    assert board.span(10**9) == "99d+" and board.span(-5) == "0s"
    assert board.due(_task("a"), now) == ("no deadline", "dim")
    assert board.due(_task("a", deadline=now + 3600), now) == ("due 1h", "dim")
    assert board.due(_task("a", deadline=now + 720), now) == ("due 12m", "soon")
    assert board.due(_task("a", deadline=now - 180), now) == ("late 3m", "soon")
    breached = _task("a", "running", deadline=now - 180, sla_breached=True)
    assert board.due(breached, now) == ("⚠ late 3m", "late")
    assert board.due(_task("a", "complete", deadline=now - 9, sla_breached=True), now) == (
        "⚠ SLA missed", "late")
    assert board.due(_task("a", "complete"), now) == ("✔ done", "done")
    assert board.due(_task("a", "failed"), now) == ("✖ failed", "late")
    assert [board.priority(_task("a", priority=p))[1] for p in (1, 5)] == ["p1", "p5"]


def test_board_card_lines_and_fit() -> None:
    inbox = board.CardFacts(_task("a", priority=4, deadline=1720), queue="triage")
    assert _texts(board.card(inbox, now=1000)) == ["P4 task a", "due 12m", "#triage"]
    running = board.CardFacts(_task("b", "running", assignee="ag-1"), assignee="coder-1",
                              sessions=3, active_sessions=1, cost_usd=1.234)
    lines = board.card(running, now=0)
    assert _texts(lines) == ["P3 task b", "no deadline  @coder-1", "▶ 1/3  $1.23"]
    assert lines[2][0] == ("▶", "active")
    failed = board.CardFacts(_task("c", "failed", error="rate limited\ntrace"),
                             sessions=1, cost_usd=0.004)
    assert _texts(board.card(failed, now=0))[2] == "· 0/1  $0.0040  rate limited"
    line = board.card(running, now=0)[1]
    assert _texts([board.fit(line, 15)]) == ["no deadline  @…"]
    assert _texts([board.fit(line, 100)]) == ["no deadline  @coder-1"]
    assert _texts([board.fit([("修正ログイン", "")], 7)]) == ["修正ロ…"]


def test_board_filter() -> None:
    facts = board.CardFacts(_task("a", priority=4, name="Fix login"), assignee="coder-1",
                            queue="bug-triage")
    assert board.matches("", facts) and board.matches("login coder", facts)
    assert board.matches("queue:bug p:4", facts) and board.matches("triage", facts)
    assert not board.matches("p:5", facts) and not board.matches("queue:research", facts)
    assert not board.matches("reviewer", facts) and not board.matches("p:x", facts)


def test_fit_counts_cells_not_characters() -> None:
    from rich.cells import cell_len

    assert render.fit("⏳pause", 8) == "⏳pause " and cell_len(render.fit("⏳pause", 8)) == 8
    assert render.fit("⏳pause", 8, "right") == " ⏳pause"
    assert cell_len(render.fit("⏳pause", 4)) == 4 and render.fit("⏳pause", 4).endswith("…")
    assert cell_len(render.fit("日本語のエージェント", 7)) == 7
    assert render.clip("short", 30) == "short"
    assert render.clip("a very long approval title", 10) == "a very lo…"


def test_names_sort_by_their_numbers() -> None:
    names = ["coder-11", "coder-2", "Coder-1", "reviewer-10", "reviewer-9"]
    assert sorted(names, key=render.natural_key) == [
        "Coder-1", "coder-2", "coder-11", "reviewer-9", "reviewer-10"]


def test_a_filter_for_coder_1_does_not_find_coder_11() -> None:
    assert render.contains("coder-1", "coder-1")
    assert render.contains("coder-1 and coder-11", "coder-1")
    assert not render.contains("coder-11", "coder-1")
    assert render.contains("coder-11", "cod")
    assert not render.matches("coder-1", name="coder-11", status="running", model=None,
                              kind="coder")
    task = Task(id="wt_1", queue_id="q", name="fix login", assignee="ag-11")
    eleven = board.CardFacts(task, assignee="coder-11")
    assert not board.matches("coder-1", eleven) and not board.matches("@coder-1", eleven)
    assert board.matches("@coder-11", eleven) and board.matches("coder", eleven)


def test_a_card_says_a_session_waits_and_tells_namesakes_apart() -> None:
    task = Task(id="wt_0000abcd", queue_id="q", name="fix login")
    facts = board.CardFacts(task, sessions=2, active_sessions=2, cost_usd=0.5,
                            waiting_sessions=1, tag="abcd")
    first, _, third = _texts(board.card(facts, now=0))
    assert first == "P3 fix login #abcd"
    assert "?1 waits for you" in third


def test_the_trend_has_a_time_axis() -> None:
    import time

    from agentops_tui.tui.screens.costs import time_axis

    starts = [1_800_000_000.0 + 3600 * i for i in range(24)]
    axis = time_axis(starts, 60, "1h")
    assert len(axis) == 60
    first, last = (time.strftime("%H:%M", time.localtime(t)) for t in (starts[0], starts[-1]))
    assert axis.startswith(first) and axis.endswith(last)
    assert len(axis.split()) == 3  # and one in the middle
    assert time_axis(starts, 8, "1h") == ""  # no room: no axis


def test_an_audit_export_keeps_what_the_filter_shows() -> None:
    from agentops_tui.tui.screens.audit import keep_matching

    csv = "id,actor,action\n1,sam,session.pause\n2,olga,alert.ack\n"
    assert keep_matching(csv, ["sam"], header=True) == "id,actor,action\n1,sam,session.pause\n"
    jsonl = '{"actor": "sam"}\n{"actor": "olga"}\n'
    assert keep_matching(jsonl, ["olga"], header=False) == '{"actor": "olga"}\n'
    assert keep_matching(jsonl, [], header=False) == jsonl


def test_the_undo_hint_is_cut_between_words() -> None:
    assert render.clip_words("approve the production migration now", 20) == "approve the…"
    assert render.clip_words("short", 20) == "short"
