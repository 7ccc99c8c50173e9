"""The `[alerts]` table of the config file: defaults, partial overrides, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_tui import paths
from agentops_tui.server.alerts.config import (
    AlertConfigError,
    AlertSettings,
    load_alert_settings,
    parse_alert_settings,
)


def test_defaults_trip_the_demo_rules() -> None:
    s = AlertSettings()
    assert (s.runaway_cost.session.warning, s.runaway_cost.session.critical) == (2.0, 10.0)
    assert (s.runaway_cost.agent.warning, s.runaway_cost.agent.critical) == (10.0, 40.0)
    assert s.runaway_cost.session.window_minutes == 5.0
    assert (s.error_rate.min_sessions, s.grouping.rollup_sessions) == (10, 3)
    assert (s.stuck_session.warning, s.stuck_session.critical) == (2.0, 10.0)
    assert s.runaway_cost.session.action == "none" and s.time_scale == 1.0
    assert not s.success_rate.active  # off unless configured
    assert s.seconds(10) == 600 and AlertSettings(time_scale=10).seconds(10) == 60


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_alert_settings(tmp_path / "none.toml") == AlertSettings()


def test_file_overrides_single_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[ui]\ntheme = 'dark'\n\n"  # other tables belong to other parts
        "[alerts]\ntime_scale = 10\n\n"
        "[alerts.runaway_cost.session]\ncritical = 3.5\naction = 'pause'\n\n"
        "[alerts.stuck_session]\nwarning = 'off'\n\n"
        "[alerts.budget.workspace]\nenabled = false\n"
    )
    s = load_alert_settings(config)
    assert s.time_scale == 10
    assert (s.runaway_cost.session.warning, s.runaway_cost.session.critical) == (2.0, 3.5)
    assert s.runaway_cost.session.action == "pause"
    assert (s.stuck_session.warning, s.stuck_session.critical) == (None, 10.0)
    assert s.budget.workspace.severity(10**6) == (None, None)
    assert s.runaway_cost.agent == AlertSettings().runaway_cost.agent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[alerts\n", "not valid TOML"),
        ("alerts = 3\n", "alerts: must be a table"),
        ("[alerts.runaway_cost.session]\nwarning = 'lots'\n",
         "alerts.runaway_cost.session.warning: Input should be a valid number"),
        ("[alerts.runaway_cost.session]\nwarning = -1\n",
         "alerts.runaway_cost.session.warning: Input should be greater than or equal to 0"),
        ("[alerts.runaway_cost.session]\nwarning = 11\n",
         "alerts.runaway_cost.session: Value error, warning (11.0) must not be above critical"),
        ("[alerts.runaway_cost.session]\naction = 'explode'\n",
         "alerts.runaway_cost.session.action: Input should be 'none' or 'pause'"),
        ("[alerts.stuck_session]\naction = 'pause'\n", "alerts.stuck_session.action: unknown key"),
        ("[alerts]\nintervall_seconds = 1\n", "alerts.intervall_seconds: unknown key"),
        ("[alerts]\ninterval_seconds = 0\n", "alerts.interval_seconds: Input should be greater"),
        ("[alerts]\nclock = 1\n", "alerts.clock: unknown key"),
        ("[alerts.error_rate]\ncritical = 1.5\n",
         "alerts.error_rate.critical: Input should be less than or equal to 1"),
        ("[alerts.success_rate]\nwarning = 0.2\ncritical = 0.5\n",
         "alerts.success_rate: Value error, warning (0.2) must not be below critical (0.5)"),
        ("[alerts.error_rate]\nmin_sessions = 0\n", "alerts.error_rate.min_sessions"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(AlertConfigError) as err:
        load_alert_settings(config)
    assert str(err.value).startswith(f"{config}: ") and message in str(err.value), err.value


def test_every_problem_is_listed() -> None:
    with pytest.raises(AlertConfigError) as err:
        parse_alert_settings({"stuck_session": {"warning": "x"}, "bogus": 1}, "cfg")
    assert "alerts.stuck_session.warning" in str(err.value)
    assert "alerts.bogus: unknown key" in str(err.value)


def test_serve_refuses_a_bad_alerts_table(tmp_path: Path) -> None:
    paths.config_dir().mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text("[alerts.stuck_session]\ncritical = 'soon'\n")
    result = subprocess.run(
        [sys.executable, "-m", "agentops_tui.cli", "serve", "--db", str(tmp_path / "x.db"),
         "--port", "0"],
        capture_output=True, text=True, timeout=30, env=dict(os.environ),
    )
    assert result.returncode == 2
    assert "alerts.stuck_session.critical" in result.stderr
    assert "Traceback" not in result.stderr
