"""Bad input to the commands: a database, data folder or prices file they cannot use, an
option out of range. Each gets a one-line message naming it and exit status 2, never a
traceback, and files are left as they were."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_tui.server.store.migrations import SCHEMA_VERSION, DatabaseUnusable
from agentops_tui.server.store.sqlite import Store

NOT_A_DATABASE = b"these are somebody's notes, not a database\n" * 200


def run_cli(tmp_path: Path, *args: str, data_dir: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTOPS_CONFIG_DIR": str(tmp_path / "config"),
           "AGENTOPS_DATA_DIR": str(data_dir or tmp_path / "data")}
    env.pop("AGENTOPS_URL", None)
    env.pop("AGENTOPS_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "agentops_tui.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_store_refuses_a_file_that_is_not_a_database_and_leaves_it_alone(tmp_path: Path
                                                                         ) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(NOT_A_DATABASE)
    with pytest.raises(DatabaseUnusable, match="notes.db.*not a database"):
        Store(notes)
    assert notes.read_bytes() == NOT_A_DATABASE


def test_store_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "agentops.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
        conn.execute("DROP TABLE alerts")  # a table this version would create
    with pytest.raises(DatabaseUnusable, match="agentops.db.*newer than this agentops"):
        Store(path)
    with sqlite3.connect(path) as conn:  # nothing was added to it
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alerts'").fetchone()


@pytest.mark.parametrize("command", [
    ["serve", "--port", "0"],
    ["tui"],
    ["token", "create", "--role", "admin"],
])
def test_commands_name_the_database_they_cannot_open(tmp_path: Path, command: list[str]
                                                     ) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(NOT_A_DATABASE)
    done = run_cli(tmp_path, *command, "--db", str(notes))
    assert done.returncode == 2, done.stderr
    assert f"cannot open the database {notes}: file is not a database" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert notes.read_bytes() == NOT_A_DATABASE


def test_console_names_a_prices_file_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "pricing.toml").write_text("models = [unclosed\n")
    done = run_cli(tmp_path, "tui", "--db", str(tmp_path / "agentops.db"))
    assert done.returncode == 2
    assert "pricing.toml" in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["tui"], ["demo"]])
def test_console_names_a_data_folder_it_cannot_write_its_log_to(tmp_path: Path,
                                                                command: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_cli(tmp_path, *command, data_dir=blocker / "data")
    assert done.returncode == 2
    assert f"cannot write the log file {blocker / 'data' / 'agentops.log'}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("command", "said"), [
    (["demo", "--agents", "0"], "argument --agents: 0 is outside 1–1000"),
    (["demo", "--speed", "-2"], "argument --speed: -2 is not a number above zero"),
    (["simulate", "--agents", "many"], "argument --agents: 'many' is not a whole number"),
    (["serve", "--port", "70000"], "argument --port: 70000 is outside 0–65535"),
    (["serve", "--retain-days", "0"], "argument --retain-days: 0 is not a number above zero"),
    (["serve", "--retain-audit-days", "-1"],
     "argument --retain-audit-days: -1 is not a number, zero or above"),
    (["serve", "--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
])
def test_options_out_of_range_are_named_before_anything_starts(
        tmp_path: Path, command: list[str], said: str) -> None:
    done = run_cli(tmp_path, *command)
    assert done.returncode == 2
    assert said in done.stderr
    assert not (tmp_path / "data").exists()  # no database, no log: nothing started


def test_demo_with_bad_settings_says_so_and_leaves_no_backend_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("theme = [\n")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the demo's backend makes its database
    done = run_cli(tmp_path, "demo")
    assert done.returncode == 2
    assert "config.toml: not valid TOML" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("agentops-demo-*"))  # it was stopped, and cleaned up
