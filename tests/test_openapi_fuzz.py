"""The served OpenAPI document against the server it describes: schemathesis with every check.

Every operation but the event streams is fuzzed (positive and negative data, the coverage
phase's boundary values and undeclared methods) against a real server over a real SQLite file
holding an agent, sessions, an approval, a command, queues and tasks, so that generated
requests reach real objects as well as missing ones. A failure is a 5xx, a status or content
type the document does not list, a body that does not match its schema, a valid request
refused or an invalid one accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from agentops_tui.server.analytics.costs import WINDOW_PATTERN

from conftest import LiveServer, start_server
from factories import agent, message, started, usage

# Bounded so the whole module runs in about a minute on two cores; the seed is fixed so a
# failure reproduces (change it locally to explore further).
FUZZ_CONFIG = {
    "seed": 1717,
    "generation": {"max-examples": 25, "database": "none", "mode": "all"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "output": {"sanitization": {"enabled": False}},  # throwaway tokens; show the real values
    "checks": {
        "enabled": True,
        # 413 is a refusal too: a batch over `maxItems` is `too_many_events`
        "negative_data_rejection": {"expected-statuses": [
            "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
            "5xx"]},
    },
}
pytestmark = pytest.mark.slow
STREAMS = (r"^/api/v1/stream$|^/api/v1/agents/\{agent_id\}/commands$|^/api/agent-ops/stream$"
           r"|^/agents/\{agent_id\}/messages/stream$")
LONG_POLL_CAP = 0.05  # seconds; an approval's `?wait` would otherwise hold a case up to 60 s
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _number(value: object) -> float:
    """A query value as a number (some phases send them as text); NaN when it is none."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.nan
    try:
        return float(value)
    except ValueError:
        return math.nan


def _known_sessions(body: object) -> None:
    """Events other than `session.started` must name a session the server knows (else 422
    `unknown_session`, as documented): point generated names at a seeded one."""
    events = body.get("events") if isinstance(body, dict) else None
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("type") != "session.started":
            for key in ("session_id", "sessionId"):
                if isinstance(event.get(key), str):
                    event[key] = "se-1"


def _window_seconds(raw: object) -> float | None:
    """A `window` value matching the documented pattern, in seconds; None for anything else."""
    match = re.match(WINDOW_PATTERN, raw) if isinstance(raw, str) else None
    return None if match is None else float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Seeded:
    live: LiveServer
    killswitch_token: str  # admin of another workspace, so the killswitch spares the rest
    ids: dict[str, list[str]] = field(default_factory=dict)
    doomed_queue: str = ""
    cursor: str = ""  # one the server issued


def _seed(live: LiveServer) -> Seeded:
    killswitch_token = live.token_for("admin", "killswitch")
    with live.client() as c:
        events = [agent("ag-1"), started("se-1"), started("se-2"), message("se-1"),
                  usage("se-1"), {"type": "approval.requested", "approval_id": "ap-1",
                                  "session_id": "se-1", "summary": "run the migration?"}]
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        command = c.post("/api/v1/sessions/se-2/pause").json()["id"]
        queue = c.post("/api/v1/work-queues", json={"name": "main", "teamId": "t"}).json()["id"]
        c.post("/api/v1/work-queues", json={"name": "other", "teamId": "t"}).raise_for_status()
        doomed = c.post("/api/v1/work-queues", json={"name": "doomed"}).json()["id"]
        tasks = [c.post(f"/api/v1/work-queues/{queue}/tasks", json={"name": f"t{n}"}).json()["id"]
                 for n in range(4)]
        cursor = c.get("/api/v1/sessions", params={"limit": 1}).json()["next_cursor"]
    with live.client(killswitch_token) as c:
        c.post("/api/v1/ingest", json={"events": [agent("ks"), started("ks-1", "ks")]})
    return Seeded(live, killswitch_token, doomed_queue=doomed, cursor=cursor, ids={
        "agent_id": ["ag-1"], "name": ["ag-1", "name-ag-1"], "agent_name": ["name-ag-1"],
        "session_id": ["se-1", "se-2"],
        "approval_id": ["ap-1"], "command_id": [command], "queue_id": [queue],
        "task_id": tasks,
    })


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    # Rate limits off: the fuzzer sends hundreds of token-less probes a minute, each of which
    # must see its 401; the limits themselves are tested in test_rate_limits.py.
    live = start_server(tmp_path_factory.mktemp("fuzz") / "agentops.db", heartbeat_seconds=1.0,
                        auth_failures_per_minute=0, expensive_reads_per_minute=0)
    try:
        yield _seed(live)
    finally:
        live.server.stop()


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded) -> Any:
    config = SchemathesisConfig.from_dict(FUZZ_CONFIG)
    loaded = schemathesis.openapi.from_url(f"{seeded.live.url}/openapi.json", config=config)

    @loaded.auth(refresh_interval=None)
    class Bearer:
        """Schemathesis' own auth, so it also sends requests without the token or with a
        broken one (expecting 401). The killswitch acts on another workspace."""

        def get(self, case: Any, context: Any) -> str:
            if case.operation.path in ("/api/v1/killswitch", "/agents/kill-all"):
                return seeded.killswitch_token
            return seeded.live.token

        def set(self, case: Any, token: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    @loaded.hook  # type: ignore[untyped-decorator]
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        """Also aim at real objects: the generated ids, or seeded ones in their place."""
        if not path_parameters:
            return st.just(path_parameters)
        doomed = context.operation.method.upper() == "DELETE"
        choices = [path_parameters]
        for name in path_parameters:
            real = [seeded.doomed_queue] if doomed else seeded.ids.get(name, [])
            choices += [{**path_parameters, name: value} for value in real]
        return st.sampled_from(choices)

    @loaded.hook  # type: ignore[untyped-decorator]
    def filter_case(context: Any, case: Any) -> bool:
        """Drop windows the document admits by pattern but refuses by range (1m to 90d, at
        most 5000 timeline buckets): JSON Schema cannot compare durations."""
        seconds = _window_seconds((case.query or {}).get("window"))
        if seconds is None:
            return True
        buckets = BUCKETS.get(str(case.query.get("bucket", "1h")), 60)
        too_many = case.path == "/api/v1/costs/timeline" and seconds / buckets > 4990
        return 60 <= seconds <= 90 * 86400 and not too_many

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=STREAMS)


def _shape(case: Any, seeded: Seeded) -> None:
    """Keep long-polls short (a valid wait stays valid); in valid requests, page sessions with
    a cursor the server issued (any other is refused, as its description says) and name
    known sessions."""
    query = case.query or {}
    if 0 < _number(query.get("wait")) <= 60:
        query["wait"] = LONG_POLL_CAP
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.path == "/api/v1/sessions" and isinstance(query.get("cursor"), str):
        query["cursor"] = seeded.cursor
    if case.path == "/api/v1/ingest":
        _known_sessions(case.body)


@schema.parametrize()
def test_every_operation_answers_as_documented(case: Any, seeded: Seeded) -> None:
    _shape(case, seeded)
    case.call_and_validate(timeout=10)
