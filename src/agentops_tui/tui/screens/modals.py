"""Modal dialogs: confirm, inject a message, typed kill-all confirmation, help."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.help_keys import Section, help_text
from agentops_tui.tui.render import fit

KILL_ALL_PHRASE = "KILL ALL"


class _Dialog(ModalScreen[object]):
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("dialog")]

    DEFAULT_CSS = """
    _Dialog, ConfirmScreen, InjectScreen, KillAllScreen, HelpScreen, PathScreen {
        align: center middle;
    }
    .dialog {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 1 2;
    }
    .dialog.-danger { border: thick $error; }
    .dialog .title { text-style: bold; margin-bottom: 1; width: 100%; }
    .dialog .hint { color: $text-muted; margin-top: 1; }
    .dialog .note { color: $warning; margin-bottom: 1; }
    """

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ConfirmScreen(_Dialog):
    """Yes/no for a destructive action. `y` or enter confirms; `n` or escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("confirm")]

    def __init__(self, title: str, body: str, *, danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger" if self.danger else "dialog"):
            # titles and bodies quote names that agents chose: never read them as markup
            yield Label(self.title_text, classes="title", markup=False)
            yield Static(self.body, markup=False)
            yield Label("y / enter: yes    n / esc: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class InjectScreen(_Dialog):
    """A line of text to send into the selected session(s)."""

    def __init__(self, target: str, *, title: str | None = None,
                 allow_empty: bool = False, placeholder: str | None = None,
                 hint: str = "enter: send    esc: cancel") -> None:
        super().__init__()
        self.hint = hint
        self.title_text = title or f"Send a message to {target}"
        self.allow_empty = allow_empty
        self.placeholder = placeholder or "e.g. stop and summarise what you have so far"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title", markup=False)
            yield Input(placeholder=self.placeholder, id="message")
            yield Label(self.hint, classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text or self.allow_empty:
            self.dismiss(text)


class KillAllScreen(_Dialog):
    """Kill every active session: only after the operator types the phrase."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger"):
            yield Label("Kill every active session in this workspace", classes="title")
            yield Static(f"Type [b]{KILL_ALL_PHRASE}[/b] and press enter to confirm.")
            yield Input(placeholder=KILL_ALL_PHRASE, id="phrase")
            yield Label("esc: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == KILL_ALL_PHRASE:
            self.dismiss(True)
        else:
            self.notify(f"Type {KILL_ALL_PHRASE} exactly to confirm", severity="warning")


class HelpScreen(_Dialog):
    """Every key that works here, from the screen that opened it, grouped; it scrolls when
    the terminal is short (80×24), with the way out always in sight."""

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("help")]
    DEFAULT_CSS = """
    HelpScreen .dialog { padding: 0 1; }
    HelpScreen .dialog .title { margin-bottom: 0; }
    HelpScreen .dialog .hint { margin-top: 0; }
    HelpScreen #help-keys { height: auto; scrollbar-size-vertical: 1; }
    """

    def __init__(self, sections: list[Section], read_only: bool,
                 unavailable: str | None = None) -> None:
        super().__init__()
        self.sections = sections
        self.read_only = read_only
        self.unavailable = unavailable  # actions this selection's agents cannot take, and why

    @property
    def rows(self) -> list[tuple[str, str]]:
        """Every (keys, what they do) listed, all sections together."""
        return [row for _, rows in self.sections for row in rows]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Keys  [dim]↑/↓ PgUp/PgDn scroll · esc close[/dim]", classes="title")
            if self.unavailable:  # first, where it is seen; it names agents: not markup
                yield Static(self.unavailable, classes="note", markup=False)
            with VerticalScroll(id="help-keys"):
                yield Static(help_text(self.sections, escape, fit, cell_len))
            if self.read_only:
                yield Label("read-only: actions that change agents are off", classes="hint")
            yield Label("esc: close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()
        self._fit_height()

    def on_resize(self) -> None:
        self._fit_height()

    def _fit_height(self) -> None:
        # the dialog takes at most 90% of the screen; the rest of it is title, note, hints
        others = 6 + (self.unavailable or "").count("\n") + (2 if self.unavailable else 0) \
            + (1 if self.read_only else 0)
        room = max(3, int(self.size.height * 0.9) - others)
        self.query_one("#help-keys").styles.max_height = room


class PathScreen(_Dialog):
    """Ask for a file path (pre-filled), e.g. where to export."""

    def __init__(self, prompt: str, default: str) -> None:
        super().__init__()
        self.prompt = prompt
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt, classes="title")
            yield Input(value=self.default, id="path")
            yield Label("enter: write    esc: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
