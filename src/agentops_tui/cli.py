"""The `agentops` command: demo · tui · serve · simulate · token · hooks · db · info · bench."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentops_tui import __version__, cli_connect, cli_db, cli_notify, paths
from agentops_tui.cli_types import (
    LOG_LEVELS,
    agent_count,
    is_loopback,
    non_negative_number,
    port,
    positive_number,
    whole_number,
)

if TYPE_CHECKING:
    from agentops_tui import config

Handler = Callable[[argparse.Namespace], int]
THEME_HELP = ("agentops-dark (or: dark), agentops-light (light), agentops-high-contrast "
              "(high contrast), agentops-mono (monochrome), a theme file's name, or a Textual "
              "theme")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agentops_tui.pricing import PricingError
    from agentops_tui.server import log_filters
    from agentops_tui.server.alerts.config import AlertConfigError, load_alert_settings
    from agentops_tui.server.app import create_app
    from agentops_tui.server.context import ServerSettings
    from agentops_tui.server.embedded import StreamClosingServer
    from agentops_tui.server.http_server import uvicorn_options
    from agentops_tui.server.notify.rules import NotifyConfigError, load_rules
    from agentops_tui.server.store.migrations import DatabaseUnusable
    from agentops_tui.server.store.sqlite import Retention

    if args.no_auth and not is_loopback(args.host):
        print(
            f"agentops serve: refusing to listen on {args.host} without auth; "
            "drop --no-auth or bind 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    db = cli_db.database("serve", args.db)
    if db is None:
        return 2
    # alert settings and notification rules; `notify add --config` writes the same file
    config_file = Path(args.config) if args.config else paths.config_file()
    try:
        settings = ServerSettings(
            db_path=db,
            auth=not args.no_auth,
            retention=Retention(
                max_events=args.retain_events, max_age_seconds=args.retain_days * 86400,
                audit_max_age_seconds=args.retain_audit_days * 86400,
            ),
            prices_override=paths.prices_override_file(),
            alerts=load_alert_settings(config_file),
            notify=load_rules(config_file),
            command_expiry_seconds=args.command_expiry,
            auth_failures_per_minute=args.auth_failures_per_minute,
            expensive_reads_per_minute=args.expensive_reads_per_minute,
            max_streams_per_token=args.streams_per_token,
        )
        app = create_app(settings)
    except (AlertConfigError, NotifyConfigError, PricingError, DatabaseUnusable) as exc:
        print(f"agentops serve: {exc}", file=sys.stderr)
        return 2
    print(f"agentops {__version__} serving {db.shown()} on http://{args.host}:{args.port}",
          file=sys.stderr)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level,
        # a line per request only when asked for: errors and start-up are logged regardless
        access_log=args.access_log or args.log_level in ("debug", "trace"),
        timeout_graceful_shutdown=5, **uvicorn_options(settings),
    )
    log_filters.install()  # after Config: building it (re)configures uvicorn's loggers
    StreamClosingServer(config).run()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from agentops_tui.server import auth
    from agentops_tui.server.store.backends import open_connection
    from agentops_tui.server.store.migrations import DatabaseUnusable

    url = cli_db.database("token", args.db)
    if url is None:
        return 2
    db = url.shown()
    try:
        conn = open_connection(url)
    except DatabaseUnusable as exc:
        print(f"agentops token: {exc}", file=sys.stderr)
        return 2
    if args.token_cmd == "create":
        token = auth.create_token(
            conn, name=args.name or f"{args.role}-token", role=args.role, workspace=args.workspace
        )
        print(f"created {args.role} token for workspace {args.workspace} in {db}", file=sys.stderr)
        print(token)
    elif args.token_cmd == "list":
        rows = auth.list_tokens(conn)
        if not rows:
            print(f"no tokens in {db}; make one with agentops token create", file=sys.stderr)
            return 0
        width = max(len(str(row["id"])) for row in rows)
        print(f"{'ID':<{width}}  {'NAME':<20} {'ROLE':<8} {'WORKSPACE':<12} {'CREATED':<19}  STATE")
        for row in rows:
            state = "revoked" if row["revoked_at"] else "active"
            created_at = float(str(row["created_at"]))
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created_at))
            print(f"{row['id']:<{width}}  {row['name']:<20} {row['role']:<8} "
                  f"{row['workspace']:<12} {created}  {state}")
    elif args.token_cmd == "revoke":
        if not auth.revoke_token(conn, args.id):
            print(f"agentops token revoke: no active token {args.id!r}", file=sys.stderr)
            return 1
        print(f"revoked {args.id}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import asyncio

    from agentops_tui.simulator import Simulator

    url = args.url or os.environ.get("AGENTOPS_URL")
    if not url:
        print("agentops simulate: give --url (or set AGENTOPS_URL)", file=sys.stderr)
        return 2
    token = args.token or os.environ.get("AGENTOPS_TOKEN")
    try:
        sim = Simulator(url, token, agents=args.agents, seed=args.seed, speed=args.speed,
                        tasks=not args.no_tasks)
    except ValueError as exc:
        print(f"agentops simulate: {exc}", file=sys.stderr)
        return 2
    print(f"simulating {args.agents} agents against {url} (seed {args.seed}, speed "
          f"{args.speed}x); ctrl+c stops", file=sys.stderr)
    try:
        asyncio.run(sim.run())
    except KeyboardInterrupt:
        pass
    return 0


def _load_config(command: str) -> config.Config | None:
    from agentops_tui import config  # pydantic: imported only by the commands that need it

    try:
        return config.load()
    except config.ConfigError as exc:
        print(f"agentops {command}: {exc}", file=sys.stderr)
        return None


def cmd_demo(args: argparse.Namespace) -> int:
    from agentops_tui.demo_process import DemoProcess

    log = paths.log_file()
    try:  # first: the backend's imports take longest, the console's happen meanwhile
        demo = DemoProcess(args.agents, args.seed, args.speed, log)
    except OSError as exc:
        print(f"agentops demo: cannot write the log file {log}: {exc}", file=sys.stderr)
        return 2
    settings = _load_config("demo")
    if settings is None:
        demo.stop()
        return 2
    from agentops_tui.launch import LaunchError, log_to_file, pick_theme, run_console

    try:
        theme = pick_theme(args.theme, settings.theme)
        log_to_file()
        return run_console(demo, settings, read_only=args.read_only, theme=theme)
    except LaunchError as exc:
        demo.stop()
        print(f"agentops demo: {exc}", file=sys.stderr)
        return 2


def cmd_tui(args: argparse.Namespace) -> int:
    from agentops_tui.launch import (
        LaunchError,
        embedded_backend,
        pick_theme,
        remote_backend,
        run_console,
    )

    settings = _load_config("tui")
    if settings is None:
        return 2
    try:
        theme = pick_theme(args.theme, settings.theme)
        profile_name = args.profile or (None if args.url else settings.default_profile)
        if args.url:
            backend = remote_backend(args.url, args.token)
        elif profile_name:
            profile = settings.profiles.get(profile_name)
            if profile is None:
                known = ", ".join(sorted(settings.profiles)) or "none yet"
                raise LaunchError(f"no profile {profile_name!r} (profiles: {known}); add one "
                                  "with agentops config add-profile")
            backend = remote_backend(profile.url, args.token or profile.resolve_token())
            backend.profile = profile_name
        else:
            db = cli_db.database("tui", args.db)
            if db is None:
                return 2
            backend = embedded_backend(db, "local")
    except LaunchError as exc:
        print(f"agentops tui: {exc}", file=sys.stderr)
        return 2
    return run_console(backend, settings, read_only=args.read_only, theme=theme)


def cmd_config(args: argparse.Namespace) -> int:
    import tomli_w

    from agentops_tui import config

    path = paths.config_file()
    if args.config_cmd == "path":
        print(path)
        return 0
    settings = _load_config("config")
    if settings is None:
        return 2
    try:
        if args.config_cmd == "show":
            shown = settings.model_dump(exclude_none=True)
            for profile in shown.get("profiles", {}).values():
                if profile.get("token"):
                    profile["token"] = profile["token"][:8] + "…"
            print(f"# {path}")
            print(tomli_w.dumps(shown), end="")
            return 0
        if args.config_cmd == "set":
            settings = config.set_value(settings, args.key, args.value)
        elif args.config_cmd == "add-profile":
            profile = config.Profile(url=args.url, token=args.token, token_env=args.token_env)
            settings.profiles[args.name] = profile
            if settings.default_profile is None:
                settings.default_profile = args.name
        elif args.config_cmd == "use":
            settings = config.set_value(settings, "default_profile", args.name)
        config.save(settings, path)
    except (config.ConfigError, ValueError) as exc:
        print(f"agentops config: {exc}", file=sys.stderr)
        return 2
    print(f"saved {path}")
    return 0


def cmd_hooks(args: argparse.Namespace) -> int:
    from agentops_tui.integrations import claude_code_setup as setup
    from agentops_tui.integrations.claude_code_check import check
    from agentops_tui.integrations.settings_files import SetupError

    name = f"agentops hooks {args.hooks_cmd}"
    try:
        target = setup.locate(args.project, args.user)
        if args.hooks_cmd == "install":
            url = args.url or os.environ.get("AGENTOPS_URL")
            token = args.token or os.environ.get("AGENTOPS_TOKEN")
            if not url:
                raise SetupError("give --url (the console's address, e.g. http://127.0.0.1:8787)")
            if not token:
                raise SetupError("give --token (an operator token: agentops token create "
                                 "--role operator --name claude-code)")
            lines = setup.install(target, url, token, args.approval_wait)
            scope = "--user" if args.user else f"--project {target.project}"
            lines.append(f"next: agentops hooks check {scope}")
        elif args.hooks_cmd == "uninstall":
            lines = setup.uninstall(target)
        else:
            report = check(target)
            for problem in report.problems:
                print(f"problem: {problem}")
            if report.ok:
                print(report.ok_line)
            return 0 if report.ok else 1
    except (SetupError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from agentops_tui.bench.runner import NAMES, run_suite

    return run_suite(args.only or list(NAMES), quick=args.quick, json_path=args.json)


def cmd_info(args: argparse.Namespace) -> int:
    rows = [
        ("version", __version__),
        ("python", sys.version.split()[0]),
        ("config dir", str(paths.config_dir())),
        ("config file", str(paths.config_file())),
        ("price overrides", str(paths.prices_override_file())),
        ("data dir", str(paths.data_dir())),
        ("default database", str(paths.default_db())),
        ("console log", str(paths.log_file())),
        ("bundled themes", str(paths.bundled_themes_dir())),
        ("user themes", str(paths.user_themes_dir())),
    ]
    for key, value in rows:
        print(f"{key:<18} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentops", description=__doc__)
    parser.add_argument("--version", action="version", version=f"agentops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the backend (REST + SSE) on its own")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8787, help="0 picks a free one")
    serve.add_argument("--db", help=cli_db.DB_HELP)
    serve.add_argument("--config", help="TOML file with [alerts] and [[notify]] rules"
                       " (default: the console's config file, see `agentops info`)")
    serve.add_argument("--no-auth", action="store_true", help="no tokens (loopback only)")
    serve.add_argument("--retain-events", type=whole_number(1, 10**12), default=2_000_000)
    serve.add_argument("--retain-days", type=positive_number, default=7.0)
    serve.add_argument("--retain-audit-days", type=non_negative_number, default=365.0,
                       help="days audit entries are kept (0: forever)")
    serve.add_argument("--command-expiry", type=positive_number, default=30.0,
                       help="seconds an agent has to acknowledge a command")
    serve.add_argument("--auth-failures-per-minute", type=whole_number(0, 10**6), default=30,
                       help="failed authentications allowed per client address (0: no limit)")
    serve.add_argument("--expensive-reads-per-minute", type=whole_number(0, 10**6), default=300,
                       help="audit, cost, metric and paging reads per token (0: no limit)")
    serve.add_argument("--streams-per-token", type=whole_number(1, 10**6), default=64,
                       help="event streams one token may hold open (of the server's 256)")
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    serve.add_argument("--access-log", action="store_true",
                       help="log every request (on by default at --log-level debug)")
    serve.set_defaults(handler=cmd_serve)

    token = sub.add_parser("token", help="create, list or revoke API tokens")
    token_sub = token.add_subparsers(dest="token_cmd", required=True)
    create = token_sub.add_parser("create", help="print a new token on the last line")
    create.add_argument("--role", choices=["viewer", "operator", "admin"], required=True)
    create.add_argument("--name")
    create.add_argument("--workspace", default="default")
    create.add_argument("--db", help=cli_db.DB_HELP)
    listing = token_sub.add_parser("list")
    listing.add_argument("--db", help=cli_db.DB_HELP)
    revoke = token_sub.add_parser("revoke")
    revoke.add_argument("id")
    revoke.add_argument("--db", help=cli_db.DB_HELP)
    token.set_defaults(handler=cmd_token)

    simulate = sub.add_parser("simulate", help="run a simulated fleet against a backend")
    simulate.add_argument("--url", help="backend URL (default: $AGENTOPS_URL)")
    simulate.add_argument("--token", help="operator token (default: $AGENTOPS_TOKEN)")
    simulate.add_argument("--agents", type=agent_count, default=12)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--speed", type=positive_number, default=1.0,
                          help="simulated time multiplier")
    simulate.add_argument("--no-tasks", action="store_true",
                          help="make no work queues; agents invent their own work")
    simulate.set_defaults(handler=cmd_simulate)

    demo = sub.add_parser("demo", help="the console on a simulated fleet, nothing to set up")
    demo.add_argument("--agents", type=agent_count, default=12)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--speed", type=positive_number, default=1.0)
    demo.add_argument("--read-only", action="store_true", help="hide and refuse actions")
    demo.add_argument("--theme", help=THEME_HELP)
    demo.set_defaults(handler=cmd_demo)

    tui = sub.add_parser("tui", help="the console on a remote or local backend")
    tui.add_argument("--url", help="remote backend (default: an embedded one on --db)")
    tui.add_argument("--token", help="token for --url (default: $AGENTOPS_TOKEN)")
    tui.add_argument("--db", help="database of the embedded backend: " + cli_db.DB_HELP)
    tui.add_argument("--read-only", action="store_true", help="hide and refuse actions")
    tui.add_argument("--theme", help=THEME_HELP)
    tui.add_argument("--profile", help="a profile from the config file")
    tui.set_defaults(handler=cmd_tui)

    conf = sub.add_parser("config", help="show or change the console's settings")
    conf_sub = conf.add_subparsers(dest="config_cmd", required=True)
    conf_sub.add_parser("show", help="print the settings")
    conf_sub.add_parser("path", help="print where they live")
    setter = conf_sub.add_parser("set", help="theme, default_profile, read_only, keymap.<id>")
    setter.add_argument("key")
    setter.add_argument("value")
    add = conf_sub.add_parser("add-profile", help="remember a backend")
    add.add_argument("name")
    add.add_argument("--url", required=True)
    add_token = add.add_mutually_exclusive_group()
    add_token.add_argument("--token")
    add_token.add_argument("--token-env", help="read the token from this variable")
    use = conf_sub.add_parser("use", help="make a profile the default")
    use.add_argument("name")
    conf.set_defaults(handler=cmd_config)

    from agentops_tui.integrations import claude_code_setup as setup  # stdlib only: cheap

    hooks = sub.add_parser("hooks", help="connect Claude Code to the console through its hooks")
    hooks_sub = hooks.add_subparsers(dest="hooks_cmd", required=True)
    for verb, text in (("install", "install the hook script and merge the hooks into the "
                                   "settings (backed up; running it again changes nothing)"),
                       ("uninstall", "remove exactly what install added"),
                       ("check", "say whether events reach the console, and what is wrong")):
        cmd = hooks_sub.add_parser(verb, help=text, description=text)
        cmd.add_argument("integration", choices=["claude-code"],
                         nargs="?" if verb == "check" else None, default="claude-code")
        where = cmd.add_mutually_exclusive_group()
        where.add_argument("--project", metavar="DIR",
                           help="a project's .claude/ (default: the current directory)")
        where.add_argument("--user", action="store_true",
                           help="your own ~/.claude/ ($CLAUDE_CONFIG_DIR): every project")
        if verb == "install":
            cmd.add_argument("--url", help="the console's backend (default: $AGENTOPS_URL)")
            cmd.add_argument("--token", help="an operator token (default: $AGENTOPS_TOKEN); "
                             "kept in settings.local.json, readable by you only")
            cmd.add_argument("--approval-wait", metavar="SECONDS",
                             type=whole_number(1, setup.MAX_APPROVAL_WAIT),
                             help="how long a permission prompt waits for the console "
                                  "before Claude Code asks its own user")
    hooks.set_defaults(handler=cmd_hooks)

    cli_notify.register(sub)
    cli_db.register(sub)
    info = sub.add_parser("info", help="version, paths and configuration")
    info.set_defaults(handler=cmd_info)

    bench = sub.add_parser("bench", help="the performance suite against its budgets")
    bench.add_argument("--quick", action="store_true", help="shorter runs (under 3 minutes)")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    bench.add_argument("--only", action="append", metavar="NAME",
                       choices=["ingest", "latency", "fanout", "tui", "control", "startup",
                                "output", "otlp", "hooks", "notify", "postgres"],
                       help="run only this benchmark (repeatable)")
    bench.set_defaults(handler=cmd_bench)
    from agentops_tui.tui.web import register as register_web  # `agentops web`
    register_web(sub)
    cli_connect.add_connect_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        handler: Handler = args.handler
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
