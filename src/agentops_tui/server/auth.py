"""Bearer tokens: stored as SHA-256 hashes with a role and a workspace."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

from agentops_tui.core.roles import ROLE_RANK
from agentops_tui.models import TokenRole
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import BEGIN_WRITE

TOKEN_PREFIX = "aot_"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    workspace: str

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


ANONYMOUS_ADMIN = Principal(name="local", role="admin", workspace="default")
SYSTEM = "system"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: Connection, *, name: str, role: TokenRole, workspace: str = "default"
) -> str:
    """Store a new token's hash and return the token (shown once, never stored)."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}; choose viewer, operator or admin")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = "tok_" + secrets.token_hex(6)
    now = time.time()
    with _transaction(conn):
        conn.execute(
            "INSERT INTO tokens (id, name, hash, role, workspace, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (token_id, name, hash_token(token), role, workspace, now),
        )
        _audit(conn, workspace, "token.create", token_id, {"name": name, "role": role}, now)
    return token


@contextlib.contextmanager
def _transaction(conn: Connection) -> Iterator[None]:
    conn.execute(BEGIN_WRITE)
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _audit(conn: Connection, workspace: str, action: str, target: str,
           payload: dict[str, object], ts: float) -> None:
    """Token changes are made from the command line, by whoever runs it on this host."""
    conn.execute(
        "INSERT INTO audit (ts, workspace, actor, action, target, payload, result, address)"
        " VALUES (?, ?, ?, ?, ?, ?, 'accepted', 'local')",
        (ts, workspace, f"cli:{getpass.getuser()}", action, target, json.dumps(payload)),
    )


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT id, name, role, workspace, created_at, revoked_at FROM tokens ORDER BY created_at"
    )
    keys = ("id", "name", "role", "workspace", "created_at", "revoked_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def revoke_token(conn: Connection, token_id: str) -> bool:
    now = time.time()
    with _transaction(conn):
        row = conn.execute(
            "SELECT workspace, name FROM tokens WHERE id = ? AND revoked_at IS NULL", (token_id,)
        ).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (now, token_id))
        _audit(conn, row[0], "token.revoke", token_id, {"name": row[1]}, now)
    return True


def revoke_token_value(conn: Connection, token: str) -> bool:
    """Revoke the token itself (its owner knows the token, not its id)."""
    row = conn.execute("SELECT id FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
    return row is not None and revoke_token(conn, str(row[0]))


class TokenLookup:
    """Token → principal, read from the database on every request.

    No cache: a revocation (`agentops token revoke`, another process) must stop the token at
    its next request, and the indexed lookup costs about 5 µs, hashing included, which is
    less than what checking a cache for staleness would save.
    """

    def __init__(self, lookup_conn: Connection) -> None:
        self._conn = lookup_conn

    def resolve(self, token: str) -> Principal | None:
        return self.resolve_hash(hash_token(token))

    def close(self) -> None:
        self._conn.close()

    def resolve_hash(self, token_hash: str) -> Principal | None:
        """As `resolve`, for a caller that kept only the hash (an open stream)."""
        row = self._conn.execute(
            "SELECT name, role, workspace FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (token_hash,),
        ).fetchone()
        return None if row is None else Principal(row[0], row[1], row[2])

    def describe(self, token: str) -> tuple[Principal, bool] | None:
        """Whose token this is, revoked or not (the bool), for the audit of a refusal."""
        row = self._conn.execute(
            "SELECT name, role, workspace, revoked_at FROM tokens WHERE hash = ?",
            (hash_token(token),),
        ).fetchone()
        return None if row is None else (Principal(row[0], row[1], row[2]), row[3] is not None)
