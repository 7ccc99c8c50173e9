"""The store's tables and indexes, written once for both backends and rendered per dialect.

Portable types, and what each backend calls them: `text`; `real`, an 8-byte float and
`integer`, an 8-byte integer (PostgreSQL's own REAL and INTEGER are 4 bytes); `sum`, a
rollup's running sum, which may add up past 2^63 - 1 (SQLite turns such a sum into a float;
a PostgreSQL bigint would fail the checkpoint, so it is NUMERIC there). Columns are NOT NULL
unless marked `null`. A single-column key is declared on its column, a longer one as the
table's PRIMARY KEY; ids the database assigns are SQLite's rowid and PostgreSQL's identity.
Composite-key tables are `WITHOUT ROWID` on SQLite: their key is the table.

SQLite keeps each statement's text (`sqlite_master.sql`), so the columns are grouped in the
lines that text has always had: a database made from this definition is byte-for-byte the
schema made before it. What only one backend has (PostgreSQL's log counter and `total()`
aggregate, SQLite's pragmas) stays in its schema module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]
TYPES: dict[str, dict[Dialect, str]] = {
    "text": {"sqlite": "TEXT", "postgresql": "TEXT"},
    "real": {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"},
    "integer": {"sqlite": "INTEGER", "postgresql": "BIGINT"},
    "sum": {"sqlite": "INTEGER", "postgresql": "NUMERIC"},
}
# A partial index's WHERE goes on a line of its own past this width, as the text was written.
_WIDTH = 96


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    null: bool = False
    unique: bool = False
    default: str | None = None
    generated: bool = False  # an id the database assigns when the insert gives none
    never_reused: bool = False  # ... and never gives again, even after its row is deleted


@dataclass(frozen=True)
class Table:
    name: str
    lines: tuple[tuple[Column, ...], ...]
    key: tuple[str, ...]
    without_rowid: bool

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(column for line in self.lines for column in line)


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None  # a partial index: only the rows this holds for
    # PostgreSQL indexes every row of events_key: NULL keys never collide in a unique index,
    # and the planner then probes it for the event keys of a batch rather than scanning every
    # keyed row
    partial_on_postgresql: bool = True


def table(name: str, *lines: tuple[Column, ...], key: str) -> Table:
    columns = tuple(key.split(", "))
    return Table(name, lines, columns, without_rowid=len(columns) > 1)


def index(name: str, on: str, columns: str, *, unique: bool = False, where: str | None = None,
          partial_on_postgresql: bool = True) -> Index:
    return Index(name, on, tuple(columns.split(", ")), unique, where, partial_on_postgresql)


def text(name: str, *, null: bool = False, unique: bool = False) -> Column:
    return Column(name, "text", null=null, unique=unique)


def real(name: str, *, null: bool = False, default: str | None = None) -> Column:
    return Column(name, "real", null=null, default=default)


def integer(name: str, *, null: bool = False, default: str | None = None) -> Column:
    return Column(name, "integer", null=null, default=default)


def sums(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "sum") for name in names)


def texts(*names: str) -> tuple[Column, ...]:
    return tuple(text(name) for name in names)


WORKSPACE_ID = texts("workspace", "id")

SCHEMA: tuple[Table | Index, ...] = (
    table("meta", (text("key"), text("value")), key="key"),
    table("events", (integer("id"),), (text("workspace"),), (text("type"),), (real("ts"),),
          (text("session_id", null=True),), (text("event_key", null=True),), (text("data"),),
          key="id"),
    index("events_key", "events", "workspace, event_key", unique=True,
          where="event_key IS NOT NULL", partial_on_postgresql=False),
    index("events_ts", "events", "ts"),
    table("agents", (*WORKSPACE_ID, text("name"), text("status")),
          (real("last_seen"), text("data")), key="workspace, id"),
    table("sessions", (*WORKSPACE_ID, text("agent_id")),
          (text("parent_session_id", null=True), text("task_id", null=True), text("status"),
           text("model", null=True)),
          (real("started_at"), real("last_activity"), text("data")), key="workspace, id"),
    index("sessions_started", "sessions", "workspace, started_at, id"),
    index("sessions_active", "sessions", "workspace, status"),
    # an agent's sessions: its messages across them (seed 002's /agents/{id}/messages joins
    # these ids to messages) and `GET /sessions?agent_id=`, newest first
    index("sessions_agent", "sessions", "workspace, agent_id, started_at, id"),
    table("messages", (*texts("workspace", "session_id"), integer("seq")),
          (text("role"), text("content"), real("ts")), key="workspace, session_id, seq"),
    table("approvals", texts("workspace", "id", "session_id"), texts("status", "data"),
          key="workspace, id"),
    table("commands", texts("workspace", "id", "session_id"),
          texts("agent_id", "status", "data"), key="workspace, id"),
    table("tokens", (text("id"), text("name"), text("hash", unique=True), text("role")),
          (text("workspace"), real("created_at"), real("revoked_at", null=True)), key="id"),
    table("audit", (Column("id", "integer", generated=True), real("ts"),
                    *texts("workspace", "actor")),
          (text("action"), text("target", null=True), text("payload", null=True),
           text("result"), text("address", null=True)), key="id"),
    index("audit_ts", "audit", "workspace, ts"),
    # costs and metrics: rollups folded from the log by the state checkpoint (rollup_fold.py)
    table("cost_rollup", (text("workspace"), integer("minute"), text("agent_id")),
          (*texts("task_id", "model"), *sums("cost_e10")),
          sums("input_tokens", "output_tokens"),
          sums("cache_read_tokens", "cache_write_tokens"),
          sums("usage_events", "unpriced_events"),
          key="workspace, minute, agent_id, task_id, model"),
    index("cost_rollup_agent", "cost_rollup", "workspace, agent_id, minute"),
    index("cost_rollup_task", "cost_rollup", "workspace, task_id, minute"),
    table("cost_sessions", texts("workspace", "session_id", "model"),
          (*texts("agent_id", "task_id"), real("last_ts")), key="workspace, session_id, model"),
    index("cost_sessions_ts", "cost_sessions", "workspace, last_ts"),
    table("tool_rollup", (text("workspace"), integer("minute"), text("tool")),
          (text("agent_id"), *sums("calls", "errors")),
          (*sums("timed_calls"), real("duration_ms")), key="workspace, minute, tool, agent_id"),
    table("session_runs", texts("workspace", "session_id", "agent_id"),
          (text("task_id", null=True), text("status"), real("started_at"), real("ended_at")),
          (real("duration"),), key="workspace, session_id"),
    index("session_runs_agent", "session_runs", "workspace, agent_id, ended_at"),
    index("session_runs_ended", "session_runs", "workspace, ended_at"),
    table("alerts", (*WORKSPACE_ID, text("rule")),
          texts("subject_type", "subject_id", "severity"),
          (text("status"), real("raised_at"), text("data")),
          (integer("count", default="1"), real("last_seen", default="0")), key="workspace, id"),
    index("alerts_status", "alerts", "workspace, status, raised_at"),
    index("alerts_raised", "alerts", "workspace, raised_at"),
    # work queues: task rows are written by the job that changes them (not at flush), so a
    # dequeue later in the same group commit already sees the task as taken
    table("work_queues", (*WORKSPACE_ID, text("name"), text("team_id", null=True)),
          (real("created_at"), text("data")), key="workspace, id"),
    table("tasks", (*WORKSPACE_ID, text("queue_id"), text("status")),
          (integer("priority"), real("deadline", null=True), real("created_at"),
           real("updated_at")),
          (text("assignee", null=True), integer("breached", default="0"), text("data")),
          key="workspace, id"),
    index("tasks_pick", "tasks", "workspace, queue_id, status, priority"),
    index("tasks_updated", "tasks", "workspace, updated_at"),
    index("tasks_due", "tasks", "status, deadline", where="breached = 0"),
    index("sessions_task", "sessions", "workspace, task_id", where="task_id IS NOT NULL"),
    index("sessions_parent", "sessions", "workspace, parent_session_id",
          where="parent_session_id IS NOT NULL"),
    # OTLP: every span seen and the session it belongs to (`owner`; NULL while its parent
    # chain is incomplete, then `pending` holds its events), so split exports build one tree
    table("otlp_spans", texts("workspace", "trace_id", "span_id"),
          (*texts("parent_id", "kind"), text("agent_id", null=True),
           text("session_id", null=True), text("owner", null=True)),
          (text("service"), text("pending", null=True), real("end_ts"), real("seen_at")),
          key="workspace, trace_id, span_id"),
    index("otlp_spans_pending", "otlp_spans", "workspace, end_ts", where="owner IS NULL"),
    index("otlp_spans_seen", "otlp_spans", "seen_at"),
    # Claude Code hooks: tool calls announced by PreToolUse, awaiting their PostToolUse
    table("claude_tool_starts", texts("workspace", "session_id", "tool_key"),
          (text("tool"), real("started_at")), key="workspace, session_id, tool_key"),
    # Claude Code hooks held by the console (a pause, a permission awaiting its decision):
    # what the held event needs to be answered when the wait ends
    table("claude_waits", texts("workspace", "id", "session_id"),
          (*texts("kind", "held"), text("approval_id", null=True), real("created_at")),
          key="workspace, id"),
    index("claude_waits_session", "claude_waits", "workspace, session_id"),
    # a redirect's instruction, given again when the session next tries to stop
    table("claude_followups", texts("workspace", "session_id", "message"),
          key="workspace, session_id"),
    # the notifications delivery log: one row per message sent to a channel (or given up
    # on); `channel` is the masked URL, never the secret
    table("notifications",
          (Column("id", "integer", generated=True, never_reused=True), real("ts"),
           text("workspace")),
          (*texts("rule", "channel", "kinds"), integer("count")),
          (*texts("title", "status"), integer("attempts"), text("error", null=True)),
          (integer("first_event_id", null=True), integer("last_event_id", null=True)),
          key="id"),
    index("notifications_workspace", "notifications", "workspace, id"),
)


def render(dialect: Dialect) -> str:
    """The schema's `CREATE ... IF NOT EXISTS` statements for `dialect`, `;`-terminated."""
    return "".join(
        (_table(item, dialect) if isinstance(item, Table) else _index(item, dialect)) + ";\n"
        for item in SCHEMA)


def _table(table: Table, dialect: Dialect) -> str:
    head = f"CREATE TABLE IF NOT EXISTS {table.name} ("
    lines = [", ".join(_column(column, table, dialect) for column in line)
             for line in table.lines]
    if len(table.key) > 1:
        lines.append(f"PRIMARY KEY ({', '.join(table.key)})")
    tail = " WITHOUT ROWID" if table.without_rowid and dialect == "sqlite" else ""
    if len(lines) == 1:
        return f"{head}{lines[0]}){tail}"
    return head + "\n" + ",\n".join(f"    {line}" for line in lines) + f"\n){tail}"


def _column(column: Column, table: Table, dialect: Dialect) -> str:
    words = [column.name, TYPES[column.type][dialect]]
    if table.key == (column.name,):
        if column.generated and dialect == "postgresql":
            words.append("GENERATED BY DEFAULT AS IDENTITY")  # SQLite's rowid assigns it
        words.append("PRIMARY KEY")
        if column.never_reused and dialect == "sqlite":
            words.append("AUTOINCREMENT")  # PostgreSQL's identity never reuses an id
    elif not column.null:
        words.append("NOT NULL")
    if column.unique:
        words.append("UNIQUE")
    if column.default is not None:
        words.append(f"DEFAULT {column.default}")
    return " ".join(words)


def _index(index: Index, dialect: Dialect) -> str:
    unique = "UNIQUE " if index.unique else ""
    head = (f"CREATE {unique}INDEX IF NOT EXISTS {index.name} ON {index.table}"
            f" ({', '.join(index.columns)})")
    if index.where is None or (dialect == "postgresql" and not index.partial_on_postgresql):
        return head
    where = f"WHERE {index.where}"
    fits = len(head) + len(where) + 2 <= _WIDTH
    return f"{head} {where}" if fits else f"{head}\n    {where}"
