"""`agentops hooks check claude-code`: would Claude Code's events reach the console?

It looks at what Claude Code will run: our hooks in the settings (every event, timeouts long
enough to hold a pause), the script (there, executable, this version's), the interpreter, the
URL and token as Claude Code resolves them (the process environment, then the user's
settings, the project's, the project's local ones). It runs the hook command as Claude Code
would, with no URL so nothing is sent, to see it start and exit cleanly; then it sends the
hooks route an empty event with the token. The server checks the token before the body,
so 401/403 say what is wrong with the token and the expected 422 proves it was accepted,
without leaving a test session in the console.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from agentops_tui.integrations import settings_files as files
from agentops_tui.integrations.claude_code_setup import (
    EVENTS,
    HOLD_SECONDS,
    HOOK_ROUTE,
    SHORT_EVENTS,
    Target,
    is_ours,
    packaged_script,
    user_claude_dir,
)

PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Report:
    problems: list[str]
    ok_line: str

    @property
    def ok(self) -> bool:
        return not self.problems


def our_handlers(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per event, the handlers of ours registered in a settings document."""
    found: dict[str, list[dict[str, Any]]] = {}
    hooks = doc.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            for handler in handlers if isinstance(handlers, list) else []:
                if is_ours(handler):
                    found.setdefault(event, []).append(handler)
    return found


def resolved_env(target: Target) -> dict[str, str]:
    """The environment a hook gets: ours, overridden by each settings file's `env` in
    Claude Code's order (user, project, project local)."""
    env = dict(os.environ)
    layers = [user_claude_dir() / "settings.json"]
    if target.scope == "project":
        layers += [target.settings, target.env_file]
    for path in layers:
        doc = files.read_object(path) or {}
        values = doc.get("env")
        if isinstance(values, dict):
            env.update({str(k): str(v) for k, v in values.items()})
    if target.project is not None:
        env["CLAUDE_PROJECT_DIR"] = str(target.project)
    return env


def _settings_problems(target: Target) -> list[str]:
    doc = files.read_object(target.settings)
    hint = "run `agentops hooks install claude-code" + (
        " --user`" if target.scope == "user" else f" --project {target.project}`")
    if doc is None:
        return [f"no settings file {target.settings}: {hint}"]
    handlers = our_handlers(doc)
    if not handlers:
        return [f"no agentops hooks in {target.settings}: {hint}"]
    problems = []
    missing = [e for e in EVENTS if e not in handlers]
    if missing:
        problems.append(f"{target.settings} has no agentops hook for {', '.join(missing)}: "
                        f"{hint} again")
    short = sorted(e for e, hs in handlers.items() if e not in SHORT_EVENTS
                   and any(_timeout(h) < HOLD_SECONDS for h in hs))
    if short:
        problems.append(f"the agentops hooks for {', '.join(short)} time out too soon to hold "
                        f"a pause or an approval: {hint} again")
    return problems


def _timeout(handler: dict[str, Any]) -> float:
    value = handler.get("timeout")
    return float(value) if isinstance(value, (int, float)) else 60.0


def _script_problems(target: Target) -> list[str]:
    script = target.script
    if not script.is_file():
        return [f"the hook script {script} is missing: install again"]
    problems = []
    if not os.access(script, os.X_OK):
        problems.append(f"the hook script {script} is not executable (chmod +x it)")
    if script.read_bytes() != packaged_script():
        problems.append(f"the hook script {script} is not this agentops version's: "
                        "install again to update it")
    return problems


def _command_problem(target: Target, env: dict[str, str]) -> str | None:
    """Run our hook command as Claude Code would, without a URL: it must exit 0."""
    python = env.get("AGENTOPS_PYTHON")
    if python and not os.access(python, os.X_OK):
        return f"the interpreter {python} (AGENTOPS_PYTHON) is missing: install again"
    if not python and shutil.which("python3", path=env.get("PATH")) is None:
        return "python3 not found on PATH: the hooks cannot run"
    quiet = {k: v for k, v in env.items() if k != "AGENTOPS_URL"}
    try:
        done = subprocess.run(["/bin/sh", "-c", target.command], input=b"{}", env=quiet,
                              capture_output=True, timeout=30, cwd=target.project)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the hook command did not run: {exc}"
    if done.returncode != 0:
        said = (done.stderr.decode(errors="replace").strip().splitlines() or ["nothing"])[-1]
        return f"the hook command fails (exit {done.returncode}): {said}"
    return None


def _probe(url: str, token: str) -> str | None:
    """POST an empty event: 422 means the token was accepted and nothing was stored."""
    request = urllib.request.Request(
        url + HOOK_ROUTE, data=b"{}", method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        said = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        return (f"backend unreachable: {str(said).lower()} at {url} "
                "(is `agentops serve` running there?)")
    if status in (400, 422) or 200 <= status < 300:
        return None
    message = _error_message(body)
    if status == 401:
        return f"token refused by {url} (401 {message}): revoked or mistyped"
    if status == 403:
        return (f"token lacks the role hooks need (403 {message}): give an operator token "
                "(`agentops token create --role operator`)")
    if status == 404:
        return f"{url} has no {HOOK_ROUTE} (404): not an agentops server, or an older one"
    return f"{url} answered HTTP {status} to a test event: {message}"


def _error_message(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode(errors="replace").strip() or "no message"


def check(target: Target) -> Report:
    problems = _settings_problems(target) + _script_problems(target)
    env = resolved_env(target)
    if not problems:
        command = _command_problem(target, env)
        problems += [command] if command else []
    url = env.get("AGENTOPS_URL", "").rstrip("/")
    token = env.get("AGENTOPS_TOKEN", "")
    where = target.env_file
    if not url:
        problems.append(f"no AGENTOPS_URL in {where}'s env (or the environment)")
    elif not token:
        problems.append(f"no AGENTOPS_TOKEN in {where}'s env (or the environment)")
    else:
        probe = _probe(url, token)
        problems += [probe] if probe else []
    ok_line = (f"ok: events reach {url}, token accepted for hooks "
               f"({len(EVENTS)} hook events in {target.settings})")
    return Report(problems, ok_line)
