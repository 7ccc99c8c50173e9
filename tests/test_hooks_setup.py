"""`agentops hooks install|uninstall claude-code`: the settings a user already has are kept,
the token stays out of shared files, a second run changes nothing, uninstall gives back what
was there, and bad input is refused with one line and nothing touched."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentops_tui import cli
from agentops_tui.integrations.claude_code_setup import (
    EVENTS,
    HOLD_SECONDS,
    hook_entries,
    packaged_script,
)

TOKEN = "aot_test-token-0123456789"
URL = "http://127.0.0.1:8787"

THEIR_SETTINGS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "~/bin/audit-bash", "timeout": 3}]}],
        "PostToolBatch": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
}
THEIR_LOCAL: dict[str, Any] = {"env": {"EDITOR": "vim"}, "permissions": {"deny": ["Read(.env)"]}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return folder


@pytest.fixture
def project(tmp_path: Path, home: Path) -> Path:
    folder = tmp_path / "project"
    (folder / ".claude").mkdir(parents=True)
    (folder / ".claude" / "settings.json").write_text(json.dumps(THEIR_SETTINGS))
    (folder / ".claude" / "settings.local.json").write_text(json.dumps(THEIR_LOCAL))
    return folder


def hooks(*args: str) -> int:
    return cli.main(["hooks", *args])


def install(project: Path, *extra: str) -> int:
    return hooks("install", "claude-code", "--project", str(project), "--url", URL,
                 "--token", TOKEN, *extra)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def ours(settings: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [h for g in settings["hooks"].get(event, []) for h in g["hooks"]
            if "agentops_hook.py" in h["command"]]


def test_install_merges_keeping_their_settings_and_puts_the_token_in_the_local_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claude = project / ".claude"
    before = (claude / "settings.json").read_bytes()
    assert install(project, "--approval-wait", "180") == 0
    settings = json.loads((claude / "settings.json").read_text())
    assert settings["model"] == "opus" and settings["permissions"] == THEIR_SETTINGS["permissions"]
    assert settings["hooks"]["PostToolBatch"] == THEIR_SETTINGS["hooks"]["PostToolBatch"]
    # their own PreToolUse entry stays first; ours follows, for every tool
    mine, theirs = settings["hooks"]["PreToolUse"][1], settings["hooks"]["PreToolUse"][0]
    assert theirs == THEIR_SETTINGS["hooks"]["PreToolUse"][0] and mine["matcher"] == "*"
    for event in EVENTS:
        [handler] = ours(settings, event)
        assert handler["type"] == "command"
        assert handler["command"].endswith('"$CLAUDE_PROJECT_DIR"/.claude/hooks/agentops_hook.py')
        held = event not in ("SessionStart", "SessionEnd", "Notification", "SubagentStart")
        assert handler["timeout"] == (HOLD_SECONDS if held else 10), event
    assert TOKEN not in (claude / "settings.json").read_text()  # the shared file is committed

    local = claude / "settings.local.json"
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    env = json.loads(local.read_text())["env"]
    assert (env["AGENTOPS_URL"], env["AGENTOPS_TOKEN"], env["AGENTOPS_APPROVAL_WAIT"]) == (
        URL, TOKEN, "180")
    assert env["EDITOR"] == "vim" and os.access(env["AGENTOPS_PYTHON"], os.X_OK)
    assert json.loads(local.read_text())["permissions"] == THEIR_LOCAL["permissions"]

    script = claude / "hooks" / "agentops_hook.py"
    assert script.read_bytes() == packaged_script() and os.access(script, os.X_OK)
    [backup] = claude.glob("settings.json.bak-*")
    assert backup.read_bytes() == before
    [local_backup] = claude.glob("settings.local.json.bak-*")
    assert json.loads(local_backup.read_text()) == THEIR_LOCAL
    assert "next: agentops hooks check" in capsys.readouterr().out


def test_a_second_install_changes_nothing(project: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    assert install(project) == 0
    after_first = files_of(project)
    capsys.readouterr()
    assert install(project) == 0
    assert files_of(project) == after_first  # no new backup either
    assert capsys.readouterr().out.count("(unchanged)") == 3


def test_install_replaces_hooks_set_up_by_hand_instead_of_doubling_them(project: Path) -> None:
    by_hand = {"type": "command", "command": 'python3 "$HOME/.claude/hooks/agentops_hook.py"',
               "timeout": 5}
    claude = project / ".claude"
    (claude / "settings.json").write_text(json.dumps(
        {"hooks": {"Stop": [{"hooks": [by_hand]}], "PreToolUse": [{"matcher": "*", "hooks": [
            by_hand, {"type": "command", "command": "their-linter"}]}]}}))
    assert install(project) == 0
    settings = json.loads((claude / "settings.json").read_text())
    assert [h["timeout"] for h in ours(settings, "Stop")] == [HOLD_SECONDS]
    assert settings["hooks"]["Stop"][0]["hooks"][0]["command"].startswith('"${AGENTOPS_PYTHON')
    assert settings["hooks"]["PreToolUse"][0] == {
        "matcher": "*", "hooks": [{"type": "command", "command": "their-linter"}]}
    assert len(ours(settings, "PreToolUse")) == 1


def test_uninstall_gives_back_exactly_what_was_there(project: Path) -> None:
    claude = project / ".claude"
    assert install(project, "--approval-wait", "60") == 0
    assert hooks("uninstall", "claude-code", "--project", str(project)) == 0
    assert json.loads((claude / "settings.json").read_text()) == THEIR_SETTINGS
    assert json.loads((claude / "settings.local.json").read_text()) == THEIR_LOCAL
    assert stat.S_IMODE((claude / "settings.local.json").stat().st_mode) == 0o600
    assert not (claude / "hooks").exists()  # install made the folder; nothing else is in it
    again = files_of(project)
    assert hooks("uninstall", "claude-code", "--project", str(project)) == 0
    assert files_of(project) == again


def test_what_install_created_goes_with_uninstall(tmp_path: Path, home: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    assert install(bare) == 0
    assert {p.name for p in (bare / ".claude").iterdir()} == {
        "hooks", "settings.json", "settings.local.json"}
    assert hooks("uninstall", "claude-code", "--project", str(bare)) == 0
    assert list(bare.iterdir()) == []


def test_a_user_install_keeps_the_token_in_the_users_own_settings(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = home / ".claude"
    claude.mkdir()
    (claude / "settings.json").write_text(json.dumps({"theme": "dark"}))
    (claude / "settings.json").chmod(0o644)
    assert hooks("install", "claude-code", "--user", "--url", URL, "--token", TOKEN) == 0
    settings = json.loads((claude / "settings.json").read_text())
    assert stat.S_IMODE((claude / "settings.json").stat().st_mode) == 0o600
    assert settings["theme"] == "dark" and settings["env"]["AGENTOPS_TOKEN"] == TOKEN
    script = claude / "hooks" / "agentops_hook.py"
    assert ours(settings, "PreToolUse")[0]["command"].endswith(str(script))
    assert script.read_bytes() == packaged_script()
    assert hooks("uninstall", "claude-code", "--user") == 0
    assert json.loads((claude / "settings.json").read_text()) == {"theme": "dark"}
    assert not script.exists()


def test_claude_config_dir_is_where_a_user_install_goes(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert hooks("install", "claude-code", "--user", "--url", URL, "--token", TOKEN) == 0
    assert (config / "settings.json").exists() and (config / "hooks/agentops_hook.py").exists()
    assert not (home / ".claude").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_in_a_git_repository_the_local_settings_are_kept_out_of_commits(project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    exclude = project / ".git" / "info" / "exclude"
    before = exclude.read_text() if exclude.exists() else ""
    assert install(project) == 0
    status = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "-uall"],
                            capture_output=True, text=True, check=True).stdout
    assert ".claude/settings.json" in status and "settings.local.json\n" not in status
    assert hooks("uninstall", "claude-code", "--project", str(project)) == 0
    assert exclude.read_text() == before


@pytest.mark.parametrize(("args", "says"), [
    (["--url", "localhost:8787", "--token", TOKEN], "not an http(s) URL"),
    (["--url", "ftp://host/", "--token", TOKEN], "not an http(s) URL"),
    (["--url", URL], "give --token"),
    (["--token", TOKEN], "give --url"),
    (["--url", URL, "--token", "two words"], "--token"),
])
def test_bad_options_are_refused_and_nothing_is_written(
    project: Path, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_of(project)
    assert hooks("install", "claude-code", "--project", str(project), *args) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert files_of(project) == before


@pytest.mark.parametrize(("name", "content", "says"), [
    ("settings.json", '{"hooks": {"Stop": [ }', "is not valid JSON"),
    ("settings.local.json", "// my notes\n{}", "is not valid JSON"),
    ("settings.json", "[1, 2]", "not an object"),
    ("settings.json", '{"hooks": []}', '"hooks" is not an object'),
    ("settings.json", '{"hooks": {"Stop": {}}}', "hooks.Stop is not a list"),
    ("settings.local.json", '{"env": ["A=1"]}', '"env" is not an object'),
])
def test_settings_that_cannot_be_read_are_never_overwritten(
    project: Path, name: str, content: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".claude" / name).write_text(content)
    before = files_of(project)
    assert install(project) == 2
    err = capsys.readouterr().err
    assert says in err and name in err and err.count("\n") == 1
    assert files_of(project) == before
    unreadable = not says.startswith('"env"')  # a malformed env holds nothing of ours
    assert hooks("uninstall", "claude-code", "--project", str(project)) == (
        2 if unreadable else 0)
    assert files_of(project) == before


def test_a_missing_project_directory_is_refused(tmp_path: Path, home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert install(tmp_path / "nope") == 2
    assert "project directory" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_the_home_folder_is_not_taken_for_a_project(home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert install(home) == 2
    assert "use --user" in capsys.readouterr().err


def test_the_manual_example_registers_what_install_does() -> None:
    example = Path(__file__).parents[1] / "examples" / "claude-code" / "settings.json"
    command = '"${AGENTOPS_PYTHON:-python3}" -I -S "$HOME/.claude/hooks/agentops_hook.py"'
    assert json.loads(example.read_text()) == {
        "env": {"AGENTOPS_URL": "http://127.0.0.1:8787", "AGENTOPS_TOKEN": "<operator token>"},
        "hooks": {event: [group] for event, group in hook_entries(command).items()}}


def test_an_approval_wait_longer_than_the_hook_may_run_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_of(project)
    with pytest.raises(SystemExit) as exit_:
        install(project, "--approval-wait", "90000")
    assert exit_.value.code == 2 and "--approval-wait" in capsys.readouterr().err
    assert files_of(project) == before


def test_backups_of_the_token_file_are_private_too(project: Path) -> None:
    local = project / ".claude" / "settings.local.json"
    local.write_text(json.dumps({"env": {"AGENTOPS_TOKEN": "aot_old"}}))
    local.chmod(0o644)
    assert install(project) == 0
    [backup] = local.parent.glob("settings.local.json.bak-*")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
