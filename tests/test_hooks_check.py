"""`agentops hooks check`: against a real server, each way the hooks can fail to reach the
console is named, and a working install says ok — without leaving anything in the console."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agentops_tui import cli
from agentops_tui.server import auth

from conftest import LiveServer, start_server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def install(project: Path, url: str, token: str) -> None:
    assert cli.main(["hooks", "install", "claude-code", "--project", str(project), "--url", url,
                     "--token", token]) == 0


def check(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = cli.main(["hooks", "check", "--project", str(project)])
    return code, capsys.readouterr().out.splitlines()


def test_a_working_install_says_ok_and_stores_nothing(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    install(project, live.url, live.token_for("operator"))
    code, lines = check(project, capsys)
    assert code == 0
    assert lines == [f"ok: events reach {live.url}, token accepted for hooks "
                     f"(12 hook events in {project / '.claude' / 'settings.json'})"]
    with live.client() as client:
        snapshot = client.get("/api/v1/snapshot").json()
    assert snapshot["agents"] == [] and snapshot["sessions"] == []


def test_a_stopped_backend_is_reported_unreachable(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(tmp_path / "gone.db")
    token = server.token_for("operator")
    server.server.stop()
    install(project, server.url, token)
    code, lines = check(project, capsys)
    assert code == 1
    assert lines == [f"problem: backend unreachable: connection refused at {server.url} "
                     "(is `agentops serve` running there?)"]


def test_a_revoked_token_is_reported_refused(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = live.token_for("operator", name="claude-code")
    install(project, live.url, token)
    conn = sqlite3.connect(live.db)
    [row] = [r for r in auth.list_tokens(conn) if r["name"] == "claude-code"]
    assert auth.revoke_token(conn, str(row["id"]))
    conn.close()
    code, lines = check(project, capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"problem: token refused by {live.url} (401 ")
    assert lines[0].endswith("revoked or mistyped")


def test_a_viewer_token_is_reported_lacking_the_role(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    install(project, live.url, live.token_for("viewer"))
    code, lines = check(project, capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("problem: token lacks the role hooks need (403 ")


def test_a_missing_or_broken_script_is_reported(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    install(project, live.url, live.token_for("operator"))
    script = project / ".claude" / "hooks" / "agentops_hook.py"
    script.chmod(0o644)
    code, lines = check(project, capsys)
    assert code == 1 and lines == [f"problem: the hook script {script} is not executable "
                                   "(chmod +x it)"]
    script.write_text("import sys\nsys.exit(3)\n")
    script.chmod(0o755)
    code, lines = check(project, capsys)
    assert lines[0] == (f"problem: the hook script {script} is not this agentops version's: "
                        "install again to update it")
    script.unlink()
    code, lines = check(project, capsys)
    assert code == 1 and lines == [f"problem: the hook script {script} is missing: "
                                   "install again"]


def test_settings_without_our_hooks_or_with_short_timeouts_are_reported(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    install(project, live.url, live.token_for("operator"))
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    del settings["hooks"]["PermissionRequest"]
    settings["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = 5
    settings_file.write_text(json.dumps(settings))
    code, lines = check(project, capsys)
    assert code == 1
    assert lines[0].startswith(f"problem: {settings_file} has no agentops hook for "
                               "PermissionRequest: run `agentops hooks install claude-code")
    assert lines[1].startswith("problem: the agentops hooks for PreToolUse time out too soon")
    settings_file.write_text(json.dumps({"model": "opus"}))
    code, lines = check(project, capsys)
    assert lines == [f"problem: no agentops hooks in {settings_file}: run `agentops hooks "
                     f"install claude-code --project {project}`"]


def test_a_missing_interpreter_is_reported(
    project: Path, live: LiveServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(project, live.url, live.token_for("operator"))
    local = project / ".claude" / "settings.local.json"
    doc = json.loads(local.read_text())
    doc["env"]["AGENTOPS_PYTHON"] = "/nonexistent/python3"
    local.write_text(json.dumps(doc))
    code, lines = check(project, capsys)
    assert code == 1 and lines == ["problem: the interpreter /nonexistent/python3 "
                                   "(AGENTOPS_PYTHON) is missing: install again"]
    del doc["env"]["AGENTOPS_PYTHON"]
    local.write_text(json.dumps(doc))
    monkeypatch.setenv("PATH", "/nonexistent")
    code, lines = check(project, capsys)
    assert code == 1 and lines == ["problem: python3 not found on PATH: the hooks cannot run"]
