"""The command line as an operator meets it: theme names, key bindings, token listing, the
backend's log, `python -m agentops_tui`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from agentops_tui import __version__, config, paths
from agentops_tui.client.connection import Connection
from agentops_tui.launch import LaunchError, pick_theme
from agentops_tui.tui.app import create_app

from conftest import LiveServer, ServeProcess

pytestmark = pytest.mark.integration  # each test runs the real command


def agentops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentops_tui", *args], capture_output=True,
                          text=True, timeout=60, env=os.environ.copy())


def test_python_dash_m_runs_the_command() -> None:
    done = agentops("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"agentops {__version__}"


@pytest.mark.parametrize(("asked", "real"), [
    ("dark", "agentops-dark"), ("light", "agentops-light"),
    ("high contrast", "agentops-high-contrast"), ("High-Contrast", "agentops-high-contrast"),
    ("monochrome", "agentops-mono"), ("agentops-mono", "agentops-mono"),
    ("dusk", "dusk"), ("paper", "paper"), ("nord", "nord"),
])
def test_readme_and_real_theme_names_both_select_the_theme(asked: str, real: str) -> None:
    assert pick_theme(asked, None) == real
    assert config.set_value(config.Config(), "theme", asked).theme == real


def test_an_unknown_theme_is_refused_with_the_real_names() -> None:
    with pytest.raises(LaunchError, match="agentops-high-contrast.*dusk.*paper"):
        pick_theme("solarised", None)
    assert pick_theme(None, "gone-theme") == "gone-theme"  # the console says so on start
    refused = agentops("config", "set", "theme", "solarised")
    assert refused.returncode == 2
    assert "no theme named 'solarised'" in refused.stderr and "agentops-mono" in refused.stderr
    started = agentops("tui", "--theme", "solarised")
    assert started.returncode == 2 and "--theme: no theme named" in started.stderr


def test_config_set_refuses_unknown_actions_and_keys_that_hide_another() -> None:
    hides_kill = agentops("config", "set", "keymap.session-pause", "k")
    assert hides_kill.returncode == 2
    assert "'k' is already bound to 'session-kill'" in hides_kill.stderr
    hides_quit = agentops("config", "set", "keymap.fleet-sort", "q")
    assert hides_quit.returncode == 2 and "'app-quit'" in hides_quit.stderr
    unknown = agentops("config", "set", "keymap.session-explode", "x")
    assert unknown.returncode == 2
    assert "no action 'session-explode'" in unknown.stderr and "session-pause" in unknown.stderr
    assert not paths.config_file().exists()  # nothing was saved
    # moving Kill first frees its key for Pause
    assert agentops("config", "set", "keymap.session-kill", "K").returncode == 0
    assert agentops("config", "set", "keymap.session-pause", "k").returncode == 0
    assert config.load().keymap == {"session-kill": "K", "session-pause": "k"}
    assert agentops("config", "set", "keymap.session-kill", "").returncode == 2  # k is Pause's


def test_config_set_names_bad_toml() -> None:
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text("theme = dusk\n")  # a bare word: not a TOML value
    done = agentops("config", "set", "theme", "dark")
    assert done.returncode == 2 and "not valid TOML" in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_token_list_has_a_header_and_creation_times() -> None:
    assert agentops("token", "create", "--role", "viewer", "--name", "wallboard").returncode == 0
    listed = agentops("token", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "ROLE", "WORKSPACE", "CREATED", "STATE"]
    fields = row.split()
    assert fields[1:4] == ["wallboard", "viewer", "default"] and fields[-1] == "active"
    assert fields[4][:2] == "20" and fields[5].count(":") == 2  # date and time


@pytest.mark.parametrize("flags", [(), ("--access-log",), ("--log-level", "debug")])
def test_serve_logs_requests_only_when_asked(flags: tuple[str, ...]) -> None:
    backend = ServeProcess("--no-auth", *flags)
    try:
        assert httpx.get(f"{backend.url}/api/v1/sessions", timeout=10).status_code == 200
        assert httpx.get(f"{backend.url}/api/v1/nothing-here", timeout=10).status_code == 404
    finally:
        log = backend.stop()
    assert "Uvicorn running on" in log  # start-up (and errors) are always logged
    assert ('"GET /api/v1/sessions HTTP/1.1" 200' in log) == bool(flags)


async def test_the_console_applies_a_readme_theme_name(live: LiveServer) -> None:
    app = create_app(Connection(live.url, live.token), theme=pick_theme("high contrast", None))
    async with app.run_test():
        assert app.theme == "agentops-high-contrast"
