"""Wiring for the console commands: the embedded server, the demo's backend process and the
TUI (`agentops demo`, `agentops tui`)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agentops_tui import config, paths
from agentops_tui.demo_process import DemoNotStarted, DemoProcess

if TYPE_CHECKING:
    from agentops_tui.server.store.database_url import DatabaseUrl


class LaunchError(Exception):
    """Something the user can fix; the message says what."""


@dataclass
class Backend:
    url: str
    token: str | None
    profile: str
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    # An embedded backend's own tokens for its other clients: (role, name) → token, revoked
    # when it stops. None for a remote backend.
    issue_token: Callable[[str, str], str] | None = None

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:  # shutting down: say it, do not mask the exit
                print(f"agentops: cleanup failed: {exc}", file=sys.stderr)


def log_to_file() -> None:
    """Send this process's logs (server, SDK, simulator) to a file, not the terminal."""
    path = paths.log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise LaunchError(f"cannot write the log file {path}: {exc}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    from agentops_tui.server.log_filters import redact_handler

    redact_handler(handler)  # the embedded server's records go here too
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def embedded_backend(db: Path | str | DatabaseUrl, profile: str, *, time_scale: float = 1.0,
                     token_name: str = "console") -> Backend:
    """Start the backend in this process on a loopback port with its own admin token.

    Raises LaunchError, saying what to fix, for a bad database, settings or prices file.
    """
    from agentops_tui.pricing import PricingError
    from agentops_tui.server.alerts.config import (
        AlertConfigError,
        AlertSettings,
        load_alert_settings,
    )
    from agentops_tui.server.context import ServerSettings
    from agentops_tui.server.embedded import EmbeddedServer
    from agentops_tui.server.store.migrations import DatabaseUnusable

    log_to_file()
    try:
        alerts = load_alert_settings(paths.config_file()) if paths.config_file().exists() \
            else AlertSettings()
        settings = ServerSettings(db_path=db, prices_override=paths.prices_override_file(),
                                  alerts=alerts.with_time_scale(time_scale))
        server = EmbeddedServer(settings, own_logging=False)
        url = server.start()  # refused, naming the holder, if another backend has the file
    except (AlertConfigError, PricingError, DatabaseUnusable) as exc:
        raise LaunchError(str(exc)) from None
    try:  # only once the file is ours: a refused console leaves no token behind
        token = server.issue_token("admin", token_name)
    except BaseException as exc:
        server.stop()
        if isinstance(exc, DatabaseUnusable):
            raise LaunchError(str(exc)) from None
        raise
    backend = Backend(url, token, profile, issue_token=server.issue_token)
    backend.cleanups.append(server.stop)  # which revokes its tokens
    return backend


def remote_backend(url: str, token: str | None) -> Backend:
    token = token or os.environ.get("AGENTOPS_TOKEN")
    if not url.startswith(("http://", "https://")):
        raise LaunchError(f"--url must start with http:// or https://, not {url!r}")
    return Backend(url.rstrip("/"), token, "")


def pick_theme(asked: str | None, saved: str | None) -> str | None:
    """The real name of the theme to start with: `--theme` (refused, listing the themes, if
    there is none by that name), else the saved one (an unknown saved name is left to the
    console, which says so and uses its default)."""
    from agentops_tui.tui.settings_checks import SettingRefused, resolve_theme

    try:
        if asked:
            return resolve_theme(asked)
    except SettingRefused as exc:
        raise LaunchError(f"--theme: {exc}") from None
    try:
        return resolve_theme(saved) if saved else None
    except SettingRefused:
        return saved


def run_console(backend: Backend | DemoProcess, settings: config.Config, *, read_only: bool,
                theme: str | None) -> int:
    """Run the TUI on `backend` until the operator quits; always clean up.

    A backend still starting in its own process is waited for after the console's imports,
    which take as long.
    """
    from agentops_tui.client.connection import Connection
    from agentops_tui.tui.app import create_app

    if isinstance(backend, DemoProcess):
        demo = backend
        try:
            url, token = demo.wait_until_listening()
        except DemoNotStarted as exc:
            raise LaunchError(str(exc)) from None
        backend = Backend(url, token, "demo", cleanups=[demo.stop])

    def remember_theme(name: str) -> None:
        try:
            config.save(settings.model_copy(update={"theme": name}))
        except (OSError, config.ConfigError) as exc:
            print(f"agentops: could not save the theme: {exc}", file=sys.stderr)

    try:
        connection = Connection(backend.url, backend.token, profile_name=backend.profile)
        app = create_app(connection, read_only=read_only or settings.read_only,
                         theme=theme or settings.theme, keymap=settings.keymap,
                         on_theme_change=remember_theme)
        app.run()
    finally:
        backend.close()
    return 0 if app.return_code in (None, 0) else int(app.return_code or 1)
