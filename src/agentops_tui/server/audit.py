"""The audit log: append-only record of what operators (and the system) did, and the result.

Entries are written inside the same transaction as the action they describe, so an action
that happened is always audited and an audited action always happened (or says it was
refused). Nothing updates audit rows; retention deletes those older than its audit limit
(`agentops serve --retain-audit-days`, store/retention.py).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from agentops_tui.models import Entity
from agentops_tui.server.redact import redact, redact_json, redact_optional
from agentops_tui.server.store.connection import Connection


class AuditEntry(Entity):
    id: int
    ts: float
    workspace: str
    actor: str
    action: str
    target: str | None = None
    payload: dict[str, Any] | None = None
    result: str
    address: str | None = None


# A route's `openapi_extra` key naming the operator action it is (the audit log's name).
AUDIT_ACTION = "x-audit-action"


def audited_as(action: str) -> dict[str, Any]:
    """`openapi_extra=` for an operator action's route. The OpenAPI document shows the name,
    and a request refused before the operation runs (401, 403, 422) is audited under it
    (server/refusals.py), as the operation audits itself, accepted or refused, once it runs."""
    return {AUDIT_ACTION: action}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it and from where: a token's name and the client address, or the system."""

    name: str
    workspace: str
    address: str | None = None


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str | None,
    payload: dict[str, Any] | None,
    result: str,
    ts: float,
) -> None:
    """Append an entry. Callers redact what they store elsewhere; the entry is redacted again
    here because it often quotes the client (a refused request's payload, the reason a
    refusal names), and the audit log is kept and exported the longest."""
    payload = None if payload is None else redact_json(payload)
    conn.execute(
        "INSERT INTO audit (ts, workspace, actor, action, target, payload, result, address)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ts, actor.workspace, actor.name, action, redact_optional(target),
            None if payload is None else json.dumps(payload), redact(result), actor.address,
        ),
    )


def query(
    conn: Connection,
    workspace: str,
    *,
    since: float | None = None,
    until: float | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Entries newest first. `action` matches exactly or as a prefix ending in '.' or '*'."""
    sql = "SELECT id, ts, workspace, actor, action, target, payload, result, address FROM audit"
    sql += " WHERE workspace = ?"
    params: list[Any] = [workspace]
    if since is not None:
        sql += " AND ts >= ?"
        params.append(since)
    if until is not None:
        sql += " AND ts < ?"
        params.append(until)
    if actor:
        sql += " AND actor = ?"
        params.append(actor)
    if action:
        if action.endswith("*") or action.endswith("."):
            # the prefix is matched literally: its own % and _ are no wildcards (the escape
            # is spelled out, as SQLite has no default one)
            sql += " AND action LIKE ? ESCAPE '\\'"
            prefix = action.rstrip("*")
            for special in ("\\", "%", "_"):
                prefix = prefix.replace(special, "\\" + special)
            params.append(prefix + "%")
        else:
            sql += " AND action = ?"
            params.append(action)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [
        AuditEntry(
            id=r[0], ts=r[1], workspace=r[2], actor=r[3], action=r[4], target=r[5],
            payload=None if r[6] is None else json.loads(r[6]), result=r[7], address=r[8],
        )
        for r in conn.execute(sql, params)
    ]


CSV_FIELDS = ("id", "ts", "workspace", "actor", "action", "target", "payload", "result", "address")


def to_jsonl(entries: list[AuditEntry]) -> str:
    return "".join(e.model_dump_json() + "\n" for e in entries)


def to_csv(entries: list[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for e in entries:
        row = e.model_dump()
        row["payload"] = "" if e.payload is None else json.dumps(e.payload)
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return out.getvalue()
