"""`agentops db`: create or upgrade a database's schema, move an installation to another
database; and how every command reads `--db` (a path or a URL, else `AGENTOPS_DB`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agentops_tui import paths

if TYPE_CHECKING:
    from agentops_tui.server.store.database_url import DatabaseUrl

DB_HELP = ("a SQLite file, sqlite:///path or postgresql://user@host/db"
           " (default: $AGENTOPS_DB, else agentops.db in the data dir)")


def database(command: str, given: str | None) -> DatabaseUrl | None:
    """The database `--db` (or AGENTOPS_DB) names; None, having said why, when none."""
    from agentops_tui.server.store.database_url import UnsupportedDatabase, resolve

    try:
        return resolve(given, paths.default_db())
    except UnsupportedDatabase as exc:
        print(f"agentops {command}: --db {exc}", file=sys.stderr)
        return None


def cmd_upgrade(args: argparse.Namespace) -> int:
    from agentops_tui.server.store.backends import open_connection, recorded_version
    from agentops_tui.server.store.migrations import SCHEMA_VERSION, DatabaseUnusable

    url = database("db upgrade", args.db)
    if url is None:
        return 2
    try:
        before = recorded_version(url)
        open_connection(url).close()  # creates or upgrades, refusing a newer schema
    except DatabaseUnusable as exc:
        print(f"agentops db upgrade: {exc}", file=sys.stderr)
        return 2
    if before is None:
        print(f"created the schema (version {SCHEMA_VERSION}) in {url.shown()}")
    elif before < SCHEMA_VERSION:
        print(f"upgraded {url.shown()} from schema {before} to {SCHEMA_VERSION}")
    else:
        print(f"{url.shown()} is at schema {SCHEMA_VERSION}, this version's; nothing to do")
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from agentops_tui.server.store.database_url import UnsupportedDatabase, parse
    from agentops_tui.server.store.db_copy import CopyRefused, copy_database
    from agentops_tui.server.store.migrations import DatabaseUnusable

    name = "agentops db copy"
    try:
        source, target = parse(args.source), parse(args.target)
        report = copy_database(source, target, batch_rows=args.batch_rows,
                               progress=lambda line: print(line, flush=True))
    except (UnsupportedDatabase, CopyRefused, DatabaseUnusable) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    width = max(len(t) for t in report.counts)
    for table, (count_from, count_to) in report.counts.items():
        mark = "ok" if count_from == count_to else "DIFFERS"
        print(f"{table:<{width}}  {count_from:>10} → {count_to:<10} {mark}")
    if report.replaced_nul:
        print(f"{report.replaced_nul} text values held NUL characters, which PostgreSQL"
              " cannot store; they were copied with U+FFFD in their place")
    if not report.verified:
        print(f"{name}: the row counts differ (see above)", file=sys.stderr)
        return 1
    print(f"copied {source.shown()} to {target.shown()}; every table's row count matches")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="create or upgrade a database's schema; copy an installation")
    db_sub = db.add_subparsers(dest="db_cmd", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="create or upgrade the schema (serve does it too when it starts)")
    upgrade.add_argument("--db", help=DB_HELP)
    upgrade.set_defaults(handler=cmd_upgrade)
    copy = db_sub.add_parser(
        "copy", help="copy every table of a SQLite database into an empty database; run it"
        " again to continue one that was interrupted")
    copy.add_argument("--from", dest="source", required=True, metavar="URL",
                      help="the SQLite database: sqlite:///path or a path")
    copy.add_argument("--to", dest="target", required=True, metavar="URL",
                      help="the empty target, e.g. postgresql://user@host/agentops")
    copy.add_argument("--batch-rows", type=int, default=5000, help=argparse.SUPPRESS)
    copy.set_defaults(handler=cmd_copy)
