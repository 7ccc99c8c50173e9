"""`agentops notify add | list | test | remove`: the server's notification rules.

The rules live in the config file's `[[notify]]` tables (the file `agentops serve` reads),
written readable by its owner only: channel URLs carry secrets. Nothing here prints a URL
in full. The server reads the rules when it starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agentops_tui import paths

KIND_NAMES = ("approval", "waiting", "alert", "sla", "budget", "command")  # rules.KINDS


def _fail(message: str, code: int = 2) -> int:
    print(f"agentops notify: {message}", file=sys.stderr)
    return code


def _kinds(raw: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in raw.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KIND_NAMES]
    if unknown or not kinds:
        what = f"unknown kind {unknown[0]!r}" if unknown else "name at least one kind"
        raise argparse.ArgumentTypeError(f"{what}; kinds: {', '.join(KIND_NAMES)}")
    return kinds


def cmd_notify(args: argparse.Namespace) -> int:
    from agentops_tui.server.notify import rules as notify_rules

    path = Path(args.config) if args.config else paths.config_file()
    try:
        rules = notify_rules.load_rules(path)
    except notify_rules.NotifyConfigError as exc:
        return _fail(str(exc))
    handler = {"add": _add, "list": _list, "test": _test, "remove": _remove}[args.notify_cmd]
    result: int = handler(args, path, rules)
    return result


def _add(args: argparse.Namespace, path: Path, rules: tuple[Any, ...]) -> int:
    from pydantic import ValidationError

    from agentops_tui.server.notify import rules as notify_rules

    if any(rule.name == args.name for rule in rules):
        return _fail(f"a rule named {args.name!r} exists in {path}; remove it first")
    fields: dict[str, Any] = {"name": args.name, "url": args.url}
    for key, value in (("on", args.on), ("min_severity", args.min_severity),
                       ("cooldown_seconds", args.cooldown),
                       ("workspaces", tuple(args.workspace or ())),
                       ("agents", tuple(args.agent or ()))):
        if value not in (None, ()):
            fields[key] = value
    try:
        rule = notify_rules.NotifyRule.model_validate(fields)
    except ValidationError as exc:
        return _fail(notify_rules._describe(exc))
    notify_rules.save_rules(path, (*rules, rule))
    print(f"added rule {rule.name}: {', '.join(rule.on)} → {rule.masked_url} "
          f"(cooldown {rule.cooldown_seconds:g} s) in {path}")
    print("restart `agentops serve` for it to take effect", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, path: Path, rules: tuple[Any, ...]) -> int:
    if not rules:
        print(f"no notification rules in {path}; add one with agentops notify add",
              file=sys.stderr)
        return 0
    print(f"{'NAME':<16} {'CHANNEL':<36} {'MIN':<8} {'COOLDOWN':>8}  ON / FILTERS")
    for rule in rules:
        filters = "".join(
            f"  {label}={','.join(values)}"
            for label, values in (("workspaces", rule.workspaces), ("agents", rule.agents))
            if values)
        print(f"{rule.name:<16} {rule.masked_url:<36} {rule.min_severity:<8} "
              f"{rule.cooldown_seconds:>7g}s  {','.join(rule.on)}{filters}")
    return 0


def _find(rules: tuple[Any, ...], name: str, path: Path) -> Any:
    for rule in rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in rules) or "none"
    raise LookupError(f"no rule named {name!r} in {path} (rules: {known})")


def _test(args: argparse.Namespace, path: Path, rules: tuple[Any, ...]) -> int:
    from agentops_tui.server.notify import channel

    try:
        rule = _find(rules, args.name, path)
    except LookupError as exc:
        return _fail(str(exc))
    error = channel.send(
        rule.url, "agentops: test notification",
        f"This is a test of the notification rule {rule.name!r}. When an event it routes "
        f"({', '.join(rule.on)}) needs you, the message will say what and how to act.")
    if error is not None:
        return _fail(f"test message to {rule.masked_url} failed: {error}", 1)
    print(f"sent a test message to {rule.masked_url}")
    return 0


def _remove(args: argparse.Namespace, path: Path, rules: tuple[Any, ...]) -> int:
    from agentops_tui.server.notify import rules as notify_rules

    try:
        rule = _find(rules, args.name, path)
    except LookupError as exc:
        return _fail(str(exc))
    notify_rules.save_rules(path, tuple(r for r in rules if r.name != rule.name))
    print(f"removed rule {rule.name} ({rule.masked_url}) from {path}")
    return 0


def register(sub: Any) -> None:
    """Add `notify` and its subcommands to the `agentops` parser's subparsers."""
    notify = sub.add_parser("notify", help="notify channels (Slack, ntfy, email, webhooks …) "
                            "when approvals, alerts or failures need you")
    verbs = notify.add_subparsers(dest="notify_cmd", required=True)
    add = verbs.add_parser("add", help="route events to an apprise URL")
    add.add_argument("name")
    add.add_argument("url", metavar="APPRISE_URL",
                     help="e.g. slack://…, ntfy://topic, mailto://…, json://host/path")
    add.add_argument("--on", type=_kinds, metavar="KIND,…",
                     help=f"event kinds (default: all): {', '.join(KIND_NAMES)}")
    add.add_argument("--min-severity", choices=["info", "warning", "critical"])
    add.add_argument("--cooldown", type=float, metavar="SECONDS",
                     help="later events within it are sent as one message (default 60)")
    add.add_argument("--workspace", action="append", help="only this workspace (repeatable)")
    add.add_argument("--agent", action="append", help="only this agent id (repeatable)")
    verbs.add_parser("list", help="the rules, channel URLs masked")
    test = verbs.add_parser("test", help="send a test message now")
    test.add_argument("name")
    remove = verbs.add_parser("remove", help="delete a rule")
    remove.add_argument("name")
    for verb in verbs.choices.values():
        verb.add_argument("--config", metavar="PATH",
                          help="the config file (default: agentops config path)")
    notify.set_defaults(handler=cmd_notify)
