"""Channel URLs are secrets: the config file is the only place they are kept whole.

The masking is checked against apprise's URL shapes; then the CLI's output, the API's
answers, the server's log (in process, and `agentops serve`'s own at debug level) are
searched for the secret parts of a channel that fails (the failure is what gets logged)."""

from __future__ import annotations

import logging
import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from agentops_tui import cli, paths
from agentops_tui.server.notify.masking import mask_text, mask_url
from agentops_tui.server.notify.rules import (
    NotifyConfigError,
    NotifyRule,
    load_rules,
    save_rules,
)

from conftest import ServeProcess, start_server
from factories import agent, started
from notify_receiver import Receiver
from waiting import wait_for

SHAPES = [  # (url, what must not show, what the mask shows)
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "TIiajkdnl", "slack://****"),
    ("slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general", "4ddbc191",
     "slack://****"),
    ("ntfy://my-private-topic", "my-private-topic", "ntfy://****"),
    ("ntfys://user:ntfypass99@ntfy.example.com/alerts", "ntfypass99",
     "ntfys://…@ntfy.example.com/…"),
    ("mailto://ops:mailpass77@gmail.com?to=oncall@example.com", "mailpass77",
     "mailto://…@gmail.com/…"),
    ("tgram://123456789:AABBccddEEff/987654", "AABBccdd", "tgram://****"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "JHMHI8qB", "discord://****"),
    ("json://hookuser:jsonpass55@hooks.example.com:8443/in/abc123token",
     "jsonpass55", "json://…@hooks.example.com:8443/…"),
    ("jsons://u:pa/ss@hooks.example.com/in/abc123token", "abc123token",
     "jsons://…@hooks.example.com/…"),
    ("json://127.0.0.1:9000/in/abc123token", "abc123token", "json://127.0.0.1:9000/…"),
    ("not a url with secret77", "secret77", "****"),
]


@pytest.mark.parametrize(("url", "secret", "shown"), SHAPES)
def test_masks_apprise_url_shapes(url: str, secret: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert secret not in mask_url(url)
    said = mask_text(f"could not post to {url}", [url])
    assert secret not in said and said == f"could not post to {shown}"
    if shown != "****":  # a plugin may log a path segment or a password on its own
        for piece in url.replace("?", "/").replace("@", "/").split("/")[3:]:
            if secret in piece:
                assert secret not in mask_text(f"token {piece} refused", [url])


def test_rules_file_is_private_and_keeps_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "agentops-light"\n[alerts.budget.task]\nwarning = 3\n')
    rule = NotifyRule(name="ops", url="ntfy://my-private-topic", cooldown_seconds=5)
    save_rules(path, (rule,))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = tomllib.loads(path.read_text())
    assert doc["theme"] == "agentops-light" and doc["alerts"]["budget"]["task"]["warning"] == 3
    assert load_rules(path) == (rule,)
    save_rules(path, ())
    assert "notify" not in tomllib.loads(path.read_text()) and load_rules(path) == ()


@pytest.mark.parametrize(("text", "said"), [
    ('notify = "x"', "must be an array of tables"),
    ('[[notify]]\nname = "a"\nurl = "ntfy://topic1"\non = ["approvals"]', "'approvals' is not"),
    ('[[notify]]\nname = "a"\nurl = "bogus://secret88/x"', "apprise cannot use this URL"),
    ('[[notify]]\nname = "a"\nurl = "ntfy://topic1"\nwat = 1', "wat: Extra inputs"),
    ('[[notify]]\nname = "a"\nurl = "ntfy://t1"\n[[notify]]\nname = "a"\nurl = "ntfy://t2"',
     "used twice"),
    ("[[notify]\n", "not valid TOML"),
])
def test_bad_rules_are_named_without_the_secret(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(NotifyConfigError) as caught:
        load_rules(path)
    assert said in str(caught.value) and str(path) in str(caught.value)
    assert "secret88" not in str(caught.value)


def test_cli_never_prints_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    broken = Receiver(status=500)
    try:
        url = broken.url("in/pathsecret42", credentials="hookuser:passsecret42")
        assert cli.main(["notify", "add", "ops", url, "--on", "approval,alert",
                         "--cooldown", "5"]) == 0
        assert cli.main(["notify", "list"]) == 0
        assert cli.main(["notify", "test", "ops"]) == 1  # the channel answers 500
        assert broken.posts and broken.posts[0]["title"] == "agentops: test notification"
        assert cli.main(["notify", "add", "ops", "ntfy://x1234"]) == 2  # the name is taken
        assert cli.main(["notify", "add", "bad", "bogus://secret42/x"]) == 2
        assert cli.main(["notify", "test", "nope"]) == 2
        out, err = capsys.readouterr()
        assert "json://…@127.0.0.1" in out and "failed" in err and "bogus://****" in err
        assert "secret42" not in out + err
        assert stat.S_IMODE(paths.config_file().stat().st_mode) == 0o600
        assert cli.main(["config", "set", "read_only", "true"]) == 0  # the console's settings
        assert stat.S_IMODE(paths.config_file().stat().st_mode) == 0o600
        assert "read_only = true" in paths.config_file().read_text()
        with pytest.raises(SystemExit) as exit_code:
            cli.main(["notify", "add", "x", "ntfy://t1", "--on", "approval,nonsense"])
        assert exit_code.value.code == 2
        assert "unknown kind 'nonsense'" in capsys.readouterr().err
        assert cli.main(["notify", "remove", "ops"]) == 0
        assert cli.main(["notify", "list"]) == 0
        assert "no notification rules" in capsys.readouterr().err
    finally:
        broken.close()


def test_api_and_log_never_show_the_secret(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    broken = Receiver(status=500)
    url = broken.url("in/pathsecret42", credentials="hookuser:passsecret42")
    live = start_server(tmp_path / "agentops.db", notify_retry_seconds=0.05, notify=(
        NotifyRule(name="ops", url=url, on=("approval",), cooldown_seconds=0),))
    try:
        with live.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                agent("ag-1"), started("se-1", "ag-1"),
                {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
                 "summary": "ship it?"}]}).raise_for_status()
            wait_for(lambda: c.get("/api/v1/notifications").json()["notifications"],
                     what="the failed delivery in the log")
            answers = [c.get(p).text for p in ("/api/v1/notifications", "/api/v1/audit")]
        assert '"status":"failed"' in answers[0] and '"url":"json://…@127.0.0.1' in answers[0]
        assert "notify.failed" in answers[1]
        assert "secret42" not in "".join(answers)
        assert "failed after 4 attempt(s)" in caplog.text and "secret42" not in caplog.text
    finally:
        live.server.stop()
        broken.close()


def test_serve_reads_the_rules_and_logs_no_secret(tmp_path: Path) -> None:
    broken = Receiver(status=500)
    url = broken.url("in/pathsecret42", credentials="hookuser:passsecret42")
    assert cli.main(["notify", "add", "ops", url, "--on", "approval", "--cooldown", "0"]) == 0
    server = ServeProcess("--no-auth", "--db", str(tmp_path / "serve.db"),
                          "--log-level", "debug")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            c.post("/api/v1/ingest", json={"events": [
                agent("ag-1"), started("se-1", "ag-1"),
                {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
                 "summary": "ship it?"}]}).raise_for_status()
            [row] = wait_for(lambda: c.get("/api/v1/notifications").json()["notifications"],
                             30, what="the failed delivery in the log")
            assert row["status"] == "failed" and "secret42" not in str(row)
        assert len(broken.posts) == 4
    finally:
        log = server.stop()
        broken.close()
    assert "notification 'ops'" in log and "secret42" not in log


def test_serve_refuses_bad_rules(tmp_path: Path) -> None:
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text('[[notify]]\nname = "a"\nurl = "ntfy://t1"\non = ["x"]\n')
    assert cli.main(["serve", "--no-auth", "--db", str(tmp_path / "x.db")]) == 2


def test_serve_reads_the_config_file_it_is_given(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --config PATH` reads that file's rules (here a bad one, refused by name)
    rather than the default config file."""
    chosen = tmp_path / "team.toml"
    chosen.write_text('[[notify]]\nname = "pager"\nurl = "ntfy://t1"\non = ["nonsense"]\n')
    assert cli.main(["serve", "--no-auth", "--db", str(tmp_path / "x.db"),
                     "--config", str(chosen)]) == 2
    assert "nonsense" in capsys.readouterr().err
