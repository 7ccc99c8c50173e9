"""Run the real Claude Code CLI in tests, against the scripted model of `claude_stand_in`.

The CLI is the npm package `@anthropic-ai/claude-code`, installed by `npm ci --prefix
tests/node` (.ci/run does it; the version is pinned in tests/node/package.json). Tests that
need it carry `pytestmark = REAL_CLAUDE_CODE`: the `claude_code` marker, and a skip with the
install command as the reason when the package is not installed here (select or deselect them
with `-m claude_code` / `-m "not claude_code"`).

One `ClaudeCode` is one throw-away machine for the CLI: a HOME and CLAUDE_CONFIG_DIR under
the test's tmp dir (nothing of the real user's is read), a project directory, and a running
model stand-in::

    @pytest.fixture
    def cc(tmp_path: Path) -> Iterator[ClaudeCode]:
        with ClaudeCode(tmp_path) as cc:
            yield cc

    def test_something(cc: ClaudeCode) -> None:
        cc.model.add_turns(tool_use("Bash", {"command": "touch made"}), text("done"))
        cc.settings(hooks_for(cc.answering_hook({"PreToolUse": DENY})))
        run = cc.run("make the file")                     # `claude -p ... --output-format json`
        assert run.returncode == 0 and run.result["result"] == "done"
        assert not (cc.project / "made").exists()
        assert [p["hook_event_name"] for p in cc.hook_payloads()] == [...]

`cc.start(prompt)` runs the CLI in the background instead (`Background.wait()` returns the
same `ClaudeRun`), for tests that act from the console while the CLI sits in a hook; use
`cc.model.wait_for_turns(n)` or `cc.wait_for_hook(event)` to know where it is.

Permission modes: `permission_mode="bypassPermissions"` (default) passes
`--dangerously-skip-permissions` (the CLI needs `IS_SANDBOX=1` for it as root; set here);
any other mode (`"default"`, `"acceptEdits"`, `"plan"`, ...) is passed as `--permission-mode`,
and then a tool that needs permission fires `PermissionRequest`, even in `-p` mode; with no hook
answering it, `-p` denies the call (no one can be asked) and the model sees the refusal as the
tool's error.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from claude_stand_in import ModelStandIn, Turn
from waiting import wait_for

NODE_DIR = Path(__file__).parent / "node"
CLAUDE_BIN = NODE_DIR / "node_modules" / ".bin" / "claude"
ANSWERING_HOOK = Path(__file__).parent / "answering_hook.py"
INSTALLED = (NODE_DIR / "node_modules" / "@anthropic-ai" / "claude-code" / "package.json").exists()

REAL_CLAUDE_CODE = [
    pytest.mark.claude_code,
    pytest.mark.skipif(not INSTALLED, reason="the Claude Code CLI is not installed here: "
                                             "run `npm ci --prefix tests/node`"),
]

T = TypeVar("T")
MODEL = "claude-sonnet-4-5-20250929"  # passed as --model; the CLI's own default changes often
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse",
          "PostToolUseFailure", "Notification", "Stop", "SubagentStart", "SubagentStop",
          "PreCompact", "SessionEnd")
TOOL_EVENTS = {"PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure"}

# The environment the CLI runs with, besides HOME, PATH and the stand-in's address.
CLI_ENV = {
    "IS_SANDBOX": "1",  # root may use --dangerously-skip-permissions
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # no HEAD /api/hello connectivity probe
    "DISABLE_TELEMETRY": "1",
    "ANTHROPIC_API_KEY": "sk-ant-stand-in-0000",  # any value; the stand-in ignores it
}


def hooks_for(command: str, events: Iterable[str] = EVENTS, *, timeout: int = 30,
              matcher: str = "*") -> dict[str, Any]:
    """A settings object running the shell `command` for each event (tool events: for every
    tool matching `matcher`). `timeout` (seconds) is how long the CLI lets one call run."""
    hook = {"type": "command", "command": command, "timeout": timeout}
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        group: dict[str, Any] = {"hooks": [hook]}
        if event in TOOL_EVENTS:
            group = {"matcher": matcher, **group}
        out[event] = [group]
    return {"hooks": out}


def deny_tool(reason: str, *, stop: str | None = None) -> dict[str, Any]:
    """A PreToolUse answer: the tool does not run, the model sees `reason` as its error;
    with `stop`, the session also ends (`continue: false`)."""
    answer: dict[str, Any] = {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": reason}}
    if stop is not None:
        answer.update({"continue": False, "stopReason": stop})
    return answer


def eventually(check: Callable[[], T | None], timeout: float = 30, *,
               what: str = "the condition") -> T:
    """Poll `check` until it returns something truthy, and return that; AssertionError after
    `timeout` s. For waiting on the console's side while the CLI runs in the background, e.g.
    `eventually(lambda: session_of(live, run_id)["status"] == "paused", what="paused")`."""
    return wait_for(check, timeout, what=what)  # type: ignore[return-value]


@dataclass
class ClaudeRun:
    """One finished CLI run. `result` is the parsed `--output-format json` object (None when
    stdout was not JSON; see `stdout`/`stderr`)."""

    returncode: int
    result: dict[str, Any] | None
    stdout: str
    stderr: str
    seconds: float
    debug_file: Path | None = None

    def debug_lines(self, contains: str = "") -> list[str]:
        """Lines of the CLI's debug log (run with debug=True) that contain `contains`."""
        if self.debug_file is None or not self.debug_file.exists():
            return []
        return [ln for ln in self.debug_file.read_text().splitlines() if contains in ln]


def _parse(stdout: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(stdout)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class Background:
    """A CLI run in the background. Always `wait()` for it or `kill()` it; the ClaudeCode
    that started it kills it on exit if neither happened."""

    def __init__(self, process: subprocess.Popen[bytes], out: Path, err: Path,
                 debug_file: Path | None, started: float, describe: Any) -> None:
        self.process = process
        self._out, self._err = out, err
        self._debug_file = debug_file
        self._started = started
        self._describe = describe

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = 60) -> ClaudeRun:
        """The finished run; on timeout the CLI is killed and the test fails, saying what
        the model stand-in and the CLI's stderr show."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"claude did not finish in {timeout}s\n{self._describe()}\n"
                                 f"stderr: {self._err.read_text()[-3000:]}") from None
        stdout = self._out.read_text()
        return ClaudeRun(self.process.returncode, _parse(stdout), stdout,
                         self._err.read_text(), time.monotonic() - self._started,
                         self._debug_file)

    def kill(self) -> None:
        """Kill the CLI and every hook process it started (its own process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


class ClaudeCode:
    """A private HOME, a project directory and a model stand-in for the real CLI."""

    def __init__(self, root: Path, turns: Iterable[Turn] = (), *,
                 env: dict[str, str] | None = None) -> None:
        self.root = root
        self.home = root / "cc-home"
        self.config_dir = self.home / ".claude"
        self.project = root / "cc-project"
        self.hook_log = root / "cc-hooks.jsonl"
        self.model = ModelStandIn(turns)
        self.extra_env = dict(env or {})
        self._background: list[Background] = []
        self._runs = 0
        for folder in (self.config_dir, self.project / ".claude"):
            folder.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> ClaudeCode:
        self.model.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for run in self._background:
            run.kill()
        self.model.stop()

    # -- configuration -------------------------------------------------------------------

    def settings(self, settings: dict[str, Any], *, local: bool = False) -> Path:
        """Write the project's .claude/settings.json (settings.local.json with local=True)."""
        path = self.project / ".claude" / ("settings.local.json" if local else "settings.json")
        path.write_text(json.dumps(settings, indent=2))
        return path

    def env(self) -> dict[str, str]:
        """The CLI's whole environment: nothing inherited but PATH and the locale."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM")}
        env.update(CLI_ENV)
        env.update({"HOME": str(self.home), "CLAUDE_CONFIG_DIR": str(self.config_dir),
                    "ANTHROPIC_BASE_URL": self.model.url, "TMPDIR": str(self.root)})
        env.update(self.extra_env)
        return env

    def answering_hook(self, answers: dict[str, Any] | None = None, *,
                       hold: Iterable[str] = (), release: Path | None = None) -> str:
        """A hook command that appends each payload to `hook_log` and prints
        `answers[event]` (JSON) for that event, nothing for the others. A list answers the
        event's first, second, ... occurrence in turn, then nothing (`None` in it: nothing):
        `{"Stop": [{"decision": "block", "reason": "and then?"}]}` blocks only the first Stop,
        as a Stop hook must, or the CLI loops. For the events in
        `hold` it first waits until the file `release` exists (`release.touch()` lets it go):
        the CLI is held in that hook meanwhile, as long as the hook's timeout allows."""
        held = sorted(hold)
        if held and release is None:
            raise ValueError("holding an event needs the release file that lets it go")
        config = self.root / f"answering_hook_{len(list(self.root.glob('answering_hook_*')))}.json"
        config.write_text(json.dumps({"log": str(self.hook_log), "answers": answers or {},
                                      "hold": held,
                                      "release": str(release) if release else None}))
        return " ".join(shlex.quote(str(part)) for part in (sys.executable, ANSWERING_HOOK, config))

    def hook_payloads(self) -> list[dict[str, Any]]:
        """The payloads the answering hooks received, in order."""
        if not self.hook_log.exists():
            return []
        return [json.loads(line) for line in self.hook_log.read_text().splitlines() if line]

    def wait_for_hook(self, event: str, timeout: float = 30) -> dict[str, Any]:
        """Block until an answering hook has received `event`; returns its payload."""
        def found() -> dict[str, Any] | None:
            return next((p for p in self.hook_payloads() if p.get("hook_event_name") == event),
                        None)

        return eventually(found, timeout, what=f"a {event} hook ({self.describe()})")

    # -- running -------------------------------------------------------------------------

    def command(self, prompt: str, *, permission_mode: str = "bypassPermissions",
                model: str = MODEL, args: Iterable[str] = (),
                debug_file: Path | None = None) -> list[str]:
        cmd = [str(CLAUDE_BIN), "-p", prompt, "--output-format", "json", "--model", model]
        if permission_mode == "bypassPermissions":
            cmd.append("--dangerously-skip-permissions")
        else:
            cmd += ["--permission-mode", permission_mode]
        if debug_file is not None:
            cmd += ["--debug-file", str(debug_file)]
        return cmd + list(args)

    def start(self, prompt: str, *, debug: bool = False, **options: Any) -> Background:
        """Start `claude -p prompt` in the project directory, in the background.
        Options: permission_mode, model, args (extra CLI arguments)."""
        self._runs += 1
        out = self.root / f"cc-run{self._runs}.stdout"
        err = self.root / f"cc-run{self._runs}.stderr"
        debug_file = self.root / f"cc-run{self._runs}.debug" if debug else None
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                self.command(prompt, debug_file=debug_file, **options), cwd=self.project,
                env=self.env(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True)
        run = Background(process, out, err, debug_file, time.monotonic(), self.describe)
        self._background.append(run)
        return run

    def run(self, prompt: str, *, timeout: float = 60, **options: Any) -> ClaudeRun:
        """Run `claude -p prompt` to its end (see `start` for the options)."""
        return self.start(prompt, **options).wait(timeout)

    def describe(self) -> str:
        """What the model stand-in saw, for failure messages."""
        lines = [f"{r.kind:5} {r.method} {r.path}" for r in self.model.requests]
        hooks = [p.get("hook_event_name") for p in self.hook_payloads()]
        return "model requests:\n  " + "\n  ".join(lines or ["(none)"]) + f"\nhooks: {hooks}"
