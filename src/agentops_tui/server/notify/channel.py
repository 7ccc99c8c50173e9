"""Apprise at arm's length: the message text, one send, and apprise's logging kept quiet.

Apprise logs through the `apprise` logger. At DEBUG some of its plugins print the endpoint
they post to, which for Slack, Discord or Telegram holds the token, so the logger is held at
WARNING, and a filter masks the channel URLs (and their secret parts) in whatever it does
log. A send's warnings are collected per thread to say why it failed.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from types import ModuleType

from agentops_tui.server.notify.masking import mask_text
from agentops_tui.server.notify.routing import OPEN_CONSOLE, Notice

MAX_LINES = 10  # a batch lists this many notices, then says how many more
_NOUNS = {"approval": "approvals", "waiting": "sessions waiting", "alert": "alerts",
          "sla": "SLA breaches", "budget": "budgets reached", "command": "failed commands"}


def compose(notices: Sequence[Notice]) -> tuple[str, str]:
    """Title and body: one notice in full, or a batch that says how many and lists them."""
    first = notices[0]
    where = f"Workspace: {first.workspace}"
    if len(notices) == 1:
        return f"agentops: {first.headline}", f"{first.headline}\n{first.detail}\n{where}"
    kinds = {n.kind for n in notices}
    noun = _NOUNS[first.kind] if len(kinds) == 1 else "events"
    title = f"agentops: {len(notices)} {noun} need you"
    lines = [f"- {n.headline}" for n in notices[:MAX_LINES]]
    if len(notices) > MAX_LINES:
        lines.append(f"… and {len(notices) - MAX_LINES} more")
    how = (f"To review them, {OPEN_CONSOLE}." if kinds == {"approval"}
           else "To act, run `agentops tui` (Review: 5, Alerts: 6, Tasks: 3).")
    return title, "\n".join([f"{len(notices)} {noun} need you:", *lines, how, where])


class _PerThread(logging.Handler):
    """Keeps the apprise warnings of the threads that asked, each to its own list."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        lines = self.lines.get(threading.get_ident())
        if lines is not None:
            lines.append(record.getMessage())


class _Mask(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls:
            record.msg, record.args = mask_text(record.getMessage(), self.urls), None
        return True


_capture = _PerThread()
_mask = _Mask()


# urllib3 (under apprise's `requests`) logs each request line at DEBUG: a Slack or Discord
# webhook's path is its token. Logger filters see only their own logger's records.
_HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.connection")


def quiet_apprise(urls: Sequence[str]) -> None:
    """Hold apprise's logger at WARNING and mask `urls` in what it and urllib3 log."""
    logger = logging.getLogger("apprise")
    logger.setLevel(logging.WARNING)
    _mask.urls = sorted(set(_mask.urls) | set(urls))
    for each in (logger, *map(logging.getLogger, _HTTP_LOGGERS)):
        if _mask not in each.filters:
            each.addFilter(_mask)
    if _capture not in logger.handlers:
        logger.addHandler(_capture)


def load_apprise() -> ModuleType:
    """Apprise, with its plugins loaded: loading them imports `imghdr`, deprecated since
    Python 3.11, a warning about apprise's internals that means nothing to our users."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        from apprise.plugins import N_MGR

        # apprise loads its plugins on first use; this is that use
        N_MGR.load_modules()  # type: ignore[no-untyped-call]
    return apprise


def send(url: str, title: str, body: str) -> str | None:
    """Send once; None when the channel took it, else why not (the URL masked)."""
    apprise = load_apprise()
    quiet_apprise([url])
    me = threading.get_ident()
    _capture.lines[me] = []
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            return "apprise cannot use this URL"
        ok = sender.notify(title=title, body=body)
        if ok:
            return None
        why = "; ".join(_capture.lines[me]) or "the channel did not accept the message"
        return mask_text(why, [url])
    except Exception as exc:  # a plugin's bug must not end the rule's thread
        return mask_text(f"{type(exc).__name__}: {exc}", [url])
    finally:
        _capture.lines.pop(me, None)
