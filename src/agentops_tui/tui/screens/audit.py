"""7 Audit: who did what to which agent, with what result — filterable and exportable.

The audit log is not streamed; the screen reloads it every few seconds while shown. `/` sets
filters (`actor:olga action:session.kill` or free words), `e` writes what is shown, filters
included, to a JSONL or CSV file (chosen by the extension) in the downloads folder unless
another path is typed. Targets show by name where the console knows them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

from platformdirs import user_downloads_path
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Input

from agentops_tui import paths
from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.client.records import AuditEntry
from agentops_tui.core.fleet import Changes
from agentops_tui.tui import names, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ConsoleScreen
from agentops_tui.tui.screens.modals import PathScreen
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [
    # actor, target and result are as wide as what they say (a result is mostly "accepted")
    Column("when", 19), Column("actor", 0), Column("action", 16), Column("target", 0),
    Column("result", 0), Column("from", 15, min_screen=110),
]
RELOAD_SECONDS = 5.0


def export_dir() -> Path:
    """Where an export goes unless the operator says otherwise: the user's downloads folder
    when there is one, else agentops' own data folder (never wherever the console started)."""
    downloads = user_downloads_path()
    if downloads.is_dir() and os.access(downloads, os.W_OK):
        return downloads
    return paths.data_dir() / "exports"


def keep_matching(text: str, words: list[str], *, header: bool) -> str:
    """The exported lines the screen's free-text filter shows (the server filters the rest:
    actor, action, since, until); a CSV keeps its header line."""
    if not words:
        return text
    lines = text.splitlines(keepends=True)
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    return "".join(head + [line for line in body if all(w in line.lower() for w in words)])


class AuditScreen(ConsoleScreen):
    PLACE = "audit"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, AuditEntry] = {}
        self.filters = ""
        self._loaded_at = 0.0

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Audit log", id="audit-title")
        yield VirtualTable(COLUMNS, self._cells, id="audit",
                           empty="no operator actions recorded yet")
        yield Input(placeholder="actor:NAME action:session.pause since:2026-11-23 words…",
                    id="audit-filter-box", classes="-hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#audit", VirtualTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def update_state(self, changes: Changes | None) -> None:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self.action_reload()

    def _cells(self, key: str) -> list[render.Cell]:
        e = self.entries.get(key)
        if e is None:
            return []
        style = "status-error" if e.result.startswith("rejected") else ""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.ts))
        return [(when, "dim"), (e.actor, ""), (e.action, ""),
                (names.target(self.console.fleet, e.target or ""), "dim"),
                (e.result, style),
                (e.address or "", "dim")]

    def _params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for word in self.filters.split():
            key, sep, value = word.partition(":")
            if sep and key in ("actor", "action", "since", "until"):
                params[key] = value
        return params

    def _words(self) -> list[str]:
        return [w.lower() for w in self.filters.split() if ":" not in w]

    def action_reload(self) -> None:
        self._loaded_at = time.monotonic()
        self._load()

    @work(group="audit", exclusive=True)
    async def _load(self) -> None:
        try:
            entries = await self.console.connection.api.audit(**self._params())
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Could not load the audit log", severity="error")
            return
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        words = self._words()
        shown = [
            e for e in entries
            if all(w in e.text().lower() for w in words)
        ]
        self.entries = {str(e.id): e for e in shown}
        self.query_one("#audit", VirtualTable).set_rows([str(e.id) for e in shown])
        filt = f" — filter: {self.filters}" if self.filters else " — / filter, e export"
        self.query_one("#audit-title", PaneTitle).show(f"Audit log — {len(shown)} entries{filt}")

    def action_filter(self) -> None:
        box = self.query_one("#audit-filter-box", Input)
        box.remove_class("-hidden")
        box.value = self.filters
        box.focus()

    @on(Input.Submitted, "#audit-filter-box")
    def _filtered(self, event: Input.Submitted) -> None:
        self.filters = event.value.strip()
        event.input.add_class("-hidden")
        self.query_one("#audit", VirtualTable).focus()
        self.action_reload()

    def action_clear_filter(self) -> None:
        self.filters = ""
        self.query_one("#audit-filter-box", Input).add_class("-hidden")
        self.action_reload()

    def action_export(self) -> None:
        name = f"agentops-audit-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        default = str(export_dir() / name)

        def chosen(path: object) -> None:
            if isinstance(path, str):
                self._export(Path(path).expanduser())

        self.app.push_screen(PathScreen("Export the audit log to (.jsonl or .csv)", default),
                             chosen)

    @work(group="audit-export", exclusive=True)
    async def _export(self, path: Path) -> None:
        fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
        try:
            text = await self.console.connection.api.audit_export(
                fmt, **self._params())
            text = keep_matching(text, self._words(), header=fmt == "csv")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            return
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror}", title="Export failed", severity="error")
            return
        lines = max(0, text.count("\n") - (1 if fmt == "csv" else 0))
        self.notify(f"Wrote {lines} entries to {path}")
