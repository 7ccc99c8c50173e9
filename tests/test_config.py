"""Console settings: round trip with tomli-w, other tables kept, clear errors, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_tui import config, paths


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentops_tui.cli", *args],
                          capture_output=True, text=True, timeout=60, env=os.environ.copy())


def test_round_trip_keeps_tables_it_does_not_own() -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text("[alerts.stuck_session]\nwarning = 3.0\n")
    settings = config.load()
    settings.profiles["prod"] = config.Profile(url="https://ops.example:8787",
                                               token_env="PROD_TOKEN")
    settings = config.set_value(settings, "default_profile", "prod")
    settings = config.set_value(settings, "keymap.session-pause", "z")
    config.save(settings)
    text = path.read_text()
    assert "[alerts.stuck_session]" in text and "warning = 3.0" in text
    again = config.load()
    assert again == settings
    os.environ["PROD_TOKEN"] = "aot_secret"
    try:
        assert again.profiles["prod"].resolve_token() == "aot_secret"
    finally:
        del os.environ["PROD_TOKEN"]


def test_bad_files_name_line_or_key() -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('theme = "dusk"\nread_only = yes\n')
    with pytest.raises(config.ConfigError, match=r"config.toml: not valid TOML.*line 2"):
        config.load()
    path.write_text('read_only = "sometimes"\n')
    with pytest.raises(config.ConfigError, match="read_only"):
        config.load()
    path.write_text('default_profile = "nope"\n')
    with pytest.raises(config.ConfigError, match="not a profile"):
        config.load()
    path.write_text('[profiles.x]\nurl = "ftp://x"\n')
    with pytest.raises(config.ConfigError, match=r"profiles\.x\.url"):
        config.load()


@pytest.mark.integration  # runs the real command
def test_cli_config_commands(tmp_path: Path) -> None:
    out = _cli("config", "add-profile", "staging", "--url", "http://127.0.0.1:8787",
               "--token", "aot_abcdefghijkl")
    assert out.returncode == 0, out.stderr
    assert _cli("config", "set", "theme", "dusk").returncode == 0
    shown = _cli("config", "show").stdout
    assert 'default_profile = "staging"' in shown and 'theme = "dusk"' in shown
    assert "aot_abcdefghijkl" not in shown  # tokens are not printed whole
    bad = _cli("config", "set", "colour", "red")
    assert bad.returncode == 2 and "unknown key" in bad.stderr
    nope = _cli("config", "use", "missing")
    assert nope.returncode == 2 and "not a profile" in nope.stderr
    paths.config_file().write_text("theme = \n")
    broken = _cli("tui")
    assert broken.returncode == 2 and "line 1" in broken.stderr
    assert "Traceback" not in broken.stderr
