"""`agentops hooks install|uninstall claude-code`: the hook script and Claude Code's settings.

Install copies the hook script into the `.claude/hooks/` folder of a project (or of the user),
registers it for every hook event the console reads, keeping whatever else the settings hold,
and puts the console's URL and token where they are not committed: a project's
`.claude/settings.local.json`, or the user's own settings, readable by the owner only.
Our hook entries are the ones whose command runs `agentops_hook.py`; uninstall removes exactly
those, our `AGENTOPS_*` variables, the script, and the files install created that are left
empty. Every rewritten file is backed up first; a run that changes nothing writes nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from agentops_tui.integrations import settings_files as files
from agentops_tui.integrations.settings_files import PRIVATE, SetupError

SCRIPT_NAME = "agentops_hook.py"
RECORD_NAME = "agentops_hook.install.json"
HOOK_ROUTE = "/api/v1/hooks/claude-code"
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse",
          "PostToolUseFailure", "Notification", "Stop", "SubagentStart", "SubagentStop",
          "PreCompact", "SessionEnd")
TOOL_EVENTS = frozenset({"PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure"})
# Claude Code kills a hook that outlives its timeout and carries on (the tool runs), so an event
# the console may hold (a pause, an approval) gets a day; the others cannot be held.
HOLD_SECONDS = 86400
MAX_APPROVAL_WAIT = HOLD_SECONDS - 600  # the wait must end before Claude Code kills the hook
SHORT_SECONDS = 10
SHORT_EVENTS = frozenset({"SessionStart", "SessionEnd", "Notification", "SubagentStart"})
ENV_KEYS = ("AGENTOPS_URL", "AGENTOPS_TOKEN", "AGENTOPS_APPROVAL_WAIT", "AGENTOPS_PYTHON")


@dataclass(frozen=True)
class Target:
    """Where one install lives: the settings that get the hooks, the file that gets the URL
    and token (the same file for a user install), and the script."""

    scope: Literal["project", "user"]
    claude_dir: Path
    settings: Path
    env_file: Path
    project: Path | None = None

    @property
    def script(self) -> Path:
        return self.claude_dir / "hooks" / SCRIPT_NAME

    @property
    def record(self) -> Path:
        return self.claude_dir / "hooks" / RECORD_NAME

    @property
    def command(self) -> str:
        """The hook command. A project's settings are shared, so the script is named from
        the project root Claude Code passes in; the interpreter comes from the (local)
        settings' env, since `python3` may be a slow shim (pyenv) or absent."""
        script = ('"$CLAUDE_PROJECT_DIR"/.claude/hooks/' + SCRIPT_NAME if self.scope == "project"
                  else shlex.quote(str(self.script)))
        return f'"${{AGENTOPS_PYTHON:-python3}}" -I -S {script}'


def user_claude_dir() -> Path:
    """Claude Code's own folder: $CLAUDE_CONFIG_DIR, or ~/.claude."""
    override = os.environ.get("CLAUDE_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(os.environ.get("HOME", "~")).expanduser() / ".claude"


def locate(project: str | None, user: bool) -> Target:
    """The install target for `--user` or `--project DIR` (default: the current directory)."""
    if user:
        folder = user_claude_dir()
        return Target("user", folder, folder / "settings.json", folder / "settings.json")
    root = Path(project or ".").expanduser()
    if not root.is_dir():
        raise SetupError(f"project directory {root} does not exist")
    root = root.resolve()
    folder = root / ".claude"
    if folder.resolve() == user_claude_dir().resolve():
        raise SetupError(f"{folder} holds your user settings, not a project's: use --user")
    return Target("project", folder, folder / "settings.json", folder / "settings.local.json",
                  root)


def packaged_script() -> bytes:
    """The hook script shipped with this version of agentops, byte for byte."""
    return (Path(__file__).parent / "claude_code_hook.py").read_bytes()


def is_ours(handler: Any) -> bool:
    return isinstance(handler, dict) and SCRIPT_NAME in str(handler.get("command", ""))


def hook_entries(command: str) -> dict[str, dict[str, Any]]:
    """The matcher group registering `command` for each event."""
    entries: dict[str, dict[str, Any]] = {}
    for event in EVENTS:
        handler = {"type": "command", "command": command,
                   "timeout": SHORT_SECONDS if event in SHORT_EVENTS else HOLD_SECONDS}
        group: dict[str, Any] = {"hooks": [handler]}
        entries[event] = {"matcher": "*", **group} if event in TOOL_EVENTS else group
    return entries


def _hooks_of(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    hooks = doc.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SetupError(f"{path}: \"hooks\" is not an object; nothing was changed")
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            raise SetupError(f"{path}: hooks.{event} is not a list; nothing was changed")
    return hooks


def without_ours(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """`doc` without our hook handlers and env keys. A group, event, `hooks` or `env` that
    only our removal emptied goes too; what was already empty stays."""
    out = dict(doc)
    hooks = _hooks_of(doc, path)
    if hooks:
        kept: dict[str, Any] = {}
        for event, groups in hooks.items():
            new_groups = []
            for group in groups:
                handlers = group.get("hooks") if isinstance(group, dict) else None
                if not isinstance(handlers, list) or not any(is_ours(h) for h in handlers):
                    new_groups.append(group)
                    continue
                rest = [h for h in handlers if not is_ours(h)]
                if rest:
                    new_groups.append({**group, "hooks": rest})
            if new_groups or not groups:
                kept[event] = new_groups
        if kept:
            out["hooks"] = kept
        else:
            del out["hooks"]
    env = doc.get("env")
    if isinstance(env, dict) and any(k in env for k in ENV_KEYS):
        rest_env = {k: v for k, v in env.items() if k not in ENV_KEYS}
        if rest_env:
            out["env"] = rest_env
        else:
            del out["env"]
    return out


def with_hooks(doc: dict[str, Any], path: Path, command: str) -> dict[str, Any]:
    """`doc` with our hooks (replacing any earlier ones of ours) after the user's own."""
    out = dict(doc)
    kept = without_ours({"hooks": _hooks_of(doc, path)}, path).get("hooks", {})
    hooks = {event: list(groups) for event, groups in kept.items()}
    for event, group in hook_entries(command).items():
        hooks.setdefault(event, []).append(group)
    out["hooks"] = hooks
    return out


def with_env(doc: dict[str, Any], path: Path, values: dict[str, str]) -> dict[str, Any]:
    env = doc.get("env", {})
    if not isinstance(env, dict):
        raise SetupError(f"{path}: \"env\" is not an object; nothing was changed")
    stale = {k: v for k, v in env.items() if k not in ENV_KEYS}
    return {**doc, "env": {**stale, **values}}


@dataclass
class Record:
    """What install created, so uninstall removes those (and only those) once empty."""

    created: list[str] = field(default_factory=list)
    git_exclude: str | None = None

    @classmethod
    def load(cls, path: Path) -> Record:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls([str(p) for p in raw.get("created", [])], raw.get("git_exclude"))
        except (OSError, ValueError, AttributeError):
            return cls()

    def save(self, path: Path) -> None:
        files.write_object(path, {"created": self.created, "git_exclude": self.git_exclude})


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SetupError(f"--url {url!r} is not an http(s) URL like http://127.0.0.1:8787")
    return url.rstrip("/")


def python_for_hooks() -> str:
    """The interpreter behind `python3` (through any shim), else the one running agentops."""
    found = shutil.which("python3")
    if found:
        try:
            done = subprocess.run([found, "-c", "import sys; print(sys.executable)"],
                                  capture_output=True, text=True, timeout=20)
            real = done.stdout.strip()
            if done.returncode == 0 and real and Path(real).is_file():
                return real
        except (OSError, subprocess.SubprocessError):
            pass
    return sys.executable


def _write(path: Path, old: dict[str, Any] | None, new: dict[str, Any], mode: int | None,
           done: list[str], what: str) -> None:
    if old == new and (mode is None or path.stat().st_mode & 0o777 == mode):
        done.append(f"{what}: {path} (unchanged)")
        return
    note = ""
    if old is not None:
        note = f" (backup: {files.backup(path, mode).name})"
    files.write_object(path, new, mode=mode)
    done.append(f"{what}: {path}{note}")


def install(target: Target, url: str, token: str, approval_wait: int | None = None,
            python: str | None = None) -> list[str]:
    """Install (or bring up to date) the script, hooks and settings; lines saying what."""
    url = check_url(url)
    if not token.strip() or any(c.isspace() for c in token):
        raise SetupError("--token is missing or has blanks (give the operator token from "
                         "`agentops token create --role operator`)")
    settings = files.read_object(target.settings)  # read both before writing either
    shared = target.env_file == target.settings
    local = settings if shared else files.read_object(target.env_file)
    env = {"AGENTOPS_URL": url, "AGENTOPS_TOKEN": token,
           "AGENTOPS_PYTHON": python or python_for_hooks()}
    if approval_wait is not None:
        env["AGENTOPS_APPROVAL_WAIT"] = str(approval_wait)
    new_settings = with_hooks(settings or {}, target.settings, target.command)
    if shared:
        new_settings = with_env(new_settings, target.settings, env)
    else:
        new_local = with_env(local or {}, target.env_file, env)

    record = Record.load(target.record)
    hooks_dir = target.script.parent
    for path in (target.claude_dir, hooks_dir, target.settings, target.env_file):
        if not path.exists() and str(path) not in record.created:
            record.created.append(str(path))
    hooks_dir.mkdir(parents=True, exist_ok=True)
    if target.scope == "project" and target.project is not None:
        record.git_exclude = record.git_exclude or _exclude_from_git(target)
    record.save(target.record)

    done: list[str] = []
    script = packaged_script()
    current = target.script.read_bytes() if target.script.is_file() else None
    if current != script or not os.access(target.script, os.X_OK):
        files.write_bytes(target.script, script, 0o755)
        done.append(f"hook script: {target.script}")
    else:
        done.append(f"hook script: {target.script} (unchanged)")
    if not shared:  # the token first: the hooks never run without it
        _write(target.env_file, local, new_local, PRIVATE, done, "URL and token (owner only)")
    _write(target.settings, settings, new_settings, PRIVATE if shared else None, done,
           f"hooks for {len(EVENTS)} events" + (", URL and token (owner only)" if shared else ""))
    if record.git_exclude:
        done.append(f"kept out of git: {target.env_file.name} listed in {record.git_exclude}")
    return done


def uninstall(target: Target) -> list[str]:
    """Remove what install added; lines saying what."""
    settings = files.read_object(target.settings)
    shared = target.env_file == target.settings
    local = None if shared else files.read_object(target.env_file)
    record = Record.load(target.record)
    done: list[str] = []
    documents = [(target.settings, settings)] + ([] if shared else [(target.env_file, local)])
    for path, doc in documents:
        if doc is None:
            continue
        new = without_ours(doc, path)
        if new == doc:
            continue
        if not new and str(path) in record.created:
            path.unlink()
            done.append(f"removed {path} (install had created it)")
        else:
            _write(path, doc, new, None, done, "removed our hooks and settings from")
    if target.script.exists():
        target.script.unlink()
        done.append(f"removed {target.script}")
    if record.git_exclude:
        _forget_git_exclude(Path(record.git_exclude))
    target.record.unlink(missing_ok=True)
    for folder in (target.script.parent, target.claude_dir):
        if str(folder) in record.created and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return done or [f"nothing of ours in {target.claude_dir}"]


GIT_MARK = "# agentops hooks: the Claude Code token (and its backups) stay out of commits"


def _exclude_from_git(target: Target) -> str | None:
    """In a git work tree where the local settings or their backups are not ignored yet,
    list them in the repository's own exclude file (never committed, unlike .gitignore).
    Returns its path."""
    assert target.project is not None
    git = shutil.which("git")
    if git is None:
        return None
    backup = target.env_file.with_name(target.env_file.name + ".bak-0")
    try:
        ignored = subprocess.run([git, "-C", str(target.project), "check-ignore",
                                  str(target.env_file), str(backup)],
                                 capture_output=True, text=True, timeout=20)
        if ignored.returncode == 128 or len(ignored.stdout.splitlines()) == 2:
            return None  # not a git work tree, or both ignored already
        where = subprocess.run([git, "-C", str(target.project), "rev-parse", "--show-toplevel",
                                "--git-path", "info/exclude"], capture_output=True, text=True,
                               timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = where.stdout.splitlines()
    if where.returncode != 0 or len(lines) != 2:
        return None
    top, exclude = Path(lines[0]), Path(lines[1])
    exclude = exclude if exclude.is_absolute() else target.project / exclude
    pattern = "/" + target.env_file.relative_to(top.resolve()).as_posix() + "*"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a", encoding="utf-8") as f:  # git reads no comment after a pattern
        f.write(f"{GIT_MARK}\n{pattern}\n")
    return str(exclude)


def _forget_git_exclude(exclude: Path) -> None:
    try:
        lines = exclude.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError:
        return
    kept: list[str] = []
    skip = False
    for line in lines:
        if line.rstrip("\n") == GIT_MARK:
            skip = True  # the mark and the pattern after it
            continue
        if not skip:
            kept.append(line)
        skip = False
    if kept != lines:
        exclude.write_text("".join(kept), encoding="utf-8")
