"""Claude Code hooks → ingest events.

Claude Code runs a hook command with one JSON object on stdin (`session_id`, `cwd`,
`transcript_path`, `hook_event_name` and per-event fields). The hook script in
`examples/claude-code/` forwards that object unchanged, adding an `agentops` object with
what only the machine knows: the host name, the project directory, a timestamp, and the
token usage and last reply read from the transcript.

Mapping (one agent per host and project directory; one session per Claude Code session):

- SessionStart: the agent and the session; waiting for a prompt.
- UserPromptSubmit: the prompt as a user message; running. The first prompt titles it.
- PreToolUse / PostToolUse / PostToolUseFailure: one tool call, timed from Pre to Post
  (paired by `tool_use_id`), ok or error.
- Notification: waiting, with the message (Claude needs a permission or an answer).
- Stop: the turn is over; waiting for the next prompt (the session does not end).
- SubagentStart / SubagentStop: a child session of the subagent, completed at its stop.
- SessionEnd: the session completed. A later SessionStart of the same Claude Code session
  (resume) opens a new run, `cc-<id>-2`, so the ended one stays as it was.

A killed session stays killed (what its CLI still sends only adds usage), a paused one stays
paused until resumed. Each event is answered, in the same job, with what the console tells
Claude Code (`claude_control`): a PermissionRequest becomes an Approval there.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from agentops_tui.models import (
    ENDED_SESSION_STATUSES,
    IngestAccepted,
    IngestEvent,
    Session,
)
from agentops_tui.server.ingest.claude_code import control as claude_control
from agentops_tui.server.ingest.claude_code.control import Reply
from agentops_tui.server.ingest.claude_code.permissions import permission_detail, permission_summary
from agentops_tui.server.ingest.rest import CostFn, IngestJob, enrich
from agentops_tui.server.ingest.wire import WireBatch
from agentops_tui.server.redact import redact_json
from agentops_tui.server.store.dialect import upsert
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import Rejected, WriteContext
from agentops_tui.wire_values import ID_PATTERN, MAX_DURATION_MS, JsonValue, TokenCount

MAX_OUTPUT = 2_000
_REOPENERS = {"SessionStart", "UserPromptSubmit", "PreToolUse"}
# a tool call that started and has not finished yet, by the key its end event will carry
_SAVE_TOOL_START_SQL = upsert("claude_tool_starts",
                              ("workspace", "session_id", "tool_key", "tool", "started_at"),
                              ("workspace", "session_id", "tool_key"))
_events_adapter: TypeAdapter[list[IngestEvent]] = TypeAdapter(list[IngestEvent])
# Claude Code's ids become parts of session ids (`cc-<session_id>-sub-<agent_id>`), so they
# follow the rules of an id in a URL path.
HookId = Annotated[str, Field(min_length=1, pattern=ID_PATTERN)]
NoId = Literal[""]  # what Claude Code sends for `agent_id` outside a subagent


class _Lenient(BaseModel):
    """Unknown fields are ignored; known ones must have their documented JSON type."""

    model_config = ConfigDict(extra="ignore", strict=True)


class TranscriptUsage(_Lenient):
    """One model response's usage, read from the transcript by the hook script."""

    id: Annotated[str, Field(min_length=1, max_length=70)]
    model: Annotated[str, Field(max_length=200)] | None = None
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0


class Extras(_Lenient):
    host: Annotated[str, Field(max_length=200)] | None = None
    project_dir: Annotated[str, Field(max_length=4000)] | None = None
    ts: float | None = None
    usage: Annotated[list[TranscriptUsage], Field(max_length=2000)] = []
    reply: Annotated[str, Field(max_length=65_536)] | None = None


class HookPayload(_Lenient):
    session_id: Annotated[HookId, Field(max_length=120)]
    hook_event_name: Annotated[str, Field(min_length=1, max_length=100)]
    cwd: Annotated[str, Field(max_length=4000)] | None = None
    transcript_path: str | None = None
    model: JsonValue = None  # a string, or {"id", "display_name"} in some versions
    source: str | None = None
    reason: str | None = None
    prompt: Annotated[str, Field(max_length=65_536)] | None = None
    message: Annotated[str, Field(max_length=4000)] | None = None
    tool_name: Annotated[str, Field(max_length=200)] | None = None
    tool_use_id: Annotated[str, Field(max_length=64)] | None = None
    tool_input: JsonValue = None
    tool_response: JsonValue = None
    error: JsonValue = None
    agent_id: Annotated[
        Annotated[HookId, Field(max_length=64)] | NoId | None,
        BeforeValidator(lambda v: None if v == "" else v),
    ] = None
    agent_type: Annotated[str, Field(max_length=200)] | None = None
    last_assistant_message: Annotated[str, Field(max_length=65_536)] | None = None
    stop_hook_active: Any = None
    agentops: Extras = Field(default_factory=Extras)


@dataclass(frozen=True)
class HookResult:
    session_id: str
    accepted: IngestAccepted
    reply: Reply


@dataclass
class HookJob:
    store: Store
    workspace: str
    hook: HookPayload
    cost: CostFn
    tool_input: Any = field(init=False, default=None)
    stop_hook_active: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        # kept apart: the tool input is not stored, but a permission's summary shows it
        self.tool_input = self.hook.tool_input
        self.stop_hook_active = self.hook.stop_hook_active is True
        self.hook = redacted(self.hook)

    def __call__(self, ctx: WriteContext) -> HookResult:
        h, ws = self.hook, self.workspace
        name = h.hook_event_name
        ts = h.agentops.ts if h.agentops.ts and abs(h.agentops.ts - ctx.now) < 86400 else ctx.now
        sid, main = self._run(ctx, f"cc-{h.session_id}")
        # A killed session stays killed: what the CLI still sends (a PreToolUse, its Stop and
        # SessionEnd) neither reopens it nor completes it; only its cost is still counted.
        after_kill = main is not None and main.status == "killed"
        out: list[dict[str, Any]] = []
        agent_id = main.agent_id if main is not None else self._agent(out, ts)
        if main is None:
            out.append({"type": "session.started", "session_id": sid, "agent_id": agent_id,
                        "model": _model(h.model), "title": _project(h)[1] or None, "ts": ts})
        target = sid
        if after_kill:
            pass
        elif h.agent_id:  # inside a subagent, or its start and stop
            target = f"{sid}-sub-{h.agent_id}"
            if ctx.session(ws, target) is None:
                title = f"subagent {h.agent_type}" if h.agent_type else "subagent"
                out.append({"type": "session.started", "session_id": target,
                            "agent_id": agent_id, "parent_session_id": sid, "title": title,
                            "ts": ts})
        elif name == "SubagentStop":  # older versions do not say which subagent stopped
            target = f"{sid}-sub-{int(ts * 1000)}"
            out.append({"type": "session.started", "session_id": target, "agent_id": agent_id,
                        "parent_session_id": sid, "title": "subagent", "ts": ts})
        status = (ctx.session(ws, target) or main or Session(id="", agent_id="")).status
        starts: list[tuple[str, str, float]] = []
        ended: list[str] = []
        said: tuple[str, str | None] | None = None  # the status this event reports

        if after_kill:
            pass
        elif name == "SessionStart":
            said = ("waiting", "ready; waiting for a prompt")
        elif name == "UserPromptSubmit":
            if h.prompt:
                out.append({"type": "session.message", "session_id": target, "role": "user",
                            "content": h.prompt, "ts": ts})
                if main is None or main.title in (None, _project(h)[1]):
                    first_line = h.prompt.strip().splitlines()[0] if h.prompt.strip() else ""
                    out.append({"type": "session.started", "session_id": sid,
                                "agent_id": agent_id, "title": first_line[:120] or None})
            said = ("running", None)
        elif name == "PreToolUse":
            said = ("running", None)
            starts.append((_tool_key(h), h.tool_name or "tool", ts))
        elif name in ("PostToolUse", "PostToolUseFailure"):
            said = ("running", None)
            out.append(self._tool_call(ctx, ts, target, failed=name == "PostToolUseFailure"))
            ended.append(_tool_key(h))
        elif name == "Notification":
            said = ("waiting", h.message or "needs your input")
        elif name == "Stop":
            said = ("waiting", "finished its turn; waiting for the next prompt")
        elif name == "SubagentStop" or name == "SessionEnd":
            stale = ctx.conn.execute(
                "SELECT tool_key FROM claude_tool_starts WHERE workspace = ? AND session_id = ?",
                (ws, target),
            )
            ended += [r[0] for r in stale]
        # a paused session stays paused whatever it reports, until the console resumes it
        if said is not None and status != "paused" and (said[0] != status or said[1]):
            out.append({"type": "session.status", "session_id": target, "status": said[0],
                        "detail": said[1][:4000] if said[1] else None, "ts": ts})
        for usage in h.agentops.usage:
            out.append({"type": "session.usage", "session_id": target, "model": usage.model,
                        "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                        "cache_read_tokens": usage.cache_read_tokens,
                        "cache_write_tokens": usage.cache_write_tokens, "ts": ts,
                        "event_key": f"cc:{h.session_id}:{usage.id}"})
        reply = h.agentops.reply or h.last_assistant_message
        if reply and name in ("Stop", "SubagentStop", "SessionEnd"):
            digest = hashlib.sha1(reply.encode()).hexdigest()[:16]
            out.append({"type": "session.message", "session_id": target, "role": "assistant",
                        "content": reply, "ts": ts,
                        "event_key": f"cc:{h.session_id}:reply:{digest}"})
        if name in ("SubagentStop", "SessionEnd") and not after_kill:
            out.append({"type": "session.ended", "session_id": target, "status": "completed",
                        "ts": ts})
        accepted = self._record(ctx, out)
        if starts:
            ctx.conn.executemany(
                _SAVE_TOOL_START_SQL,
                [(ws, target, *s) for s in starts],
            )
        if ended:
            ctx.conn.executemany(
                "DELETE FROM claude_tool_starts WHERE workspace = ? AND session_id = ?"
                " AND tool_key = ?",
                [(ws, target, k) for k in ended],
            )
        if name in ("Stop", "UserPromptSubmit") and not after_kill:
            claude_control.expire_asked(ctx, ws, target)
        asking = name == "PermissionRequest"
        held = claude_control.HeldEvent(
            event=name, session_id=sid, target=target, stop_hook_active=self.stop_hook_active,
            summary=permission_summary(h.tool_name, self.tool_input) if asking else None,
            detail=permission_detail(self.tool_input) if asking else None,
            status=said[0] if said else None, status_detail=said[1] if said else None)
        answer = claude_control.respond(ctx, ws, held)
        return HookResult(session_id=target, accepted=accepted, reply=answer)

    def _record(self, ctx: WriteContext, out: list[dict[str, Any]]) -> IngestAccepted:
        ws = self.workspace
        try:
            events = _events_adapter.validate_python(out)
        except ValidationError as exc:  # nothing is written yet: refuse only this hook
            errors = exc.errors(include_url=False, include_input=False)
            raise Rejected(422, "invalid_hook", f"hook cannot be mapped: {errors[0]['msg']}",
                           [{"message": e["msg"]} for e in errors]) from None
        batch = WireBatch.from_models(events)

        def session_models(ids: set[str]) -> dict[str, str | None]:
            found = {i: ctx.session(ws, i) for i in ids}
            return {i: s.model for i, s in found.items() if s is not None}

        enrich(batch, self.cost, session_models)
        return IngestJob(self.store, ws, batch)(ctx)

    def _run(self, ctx: WriteContext, base: str) -> tuple[str, Session | None]:
        """The console session of this Claude Code session: the newest run, or a new run
        when the newest has ended and this hook means work goes on. A killed run is reopened
        only by a new start of the CLI (resume), never by what the killed one still sends."""
        h = self.hook
        starts_again = h.hook_event_name == "SessionStart" and h.source != "compact"
        sid, n = base, 1
        while n < 1000:
            session = ctx.session(self.workspace, sid)
            if session is None:
                return sid, None
            if session.status not in ENDED_SESSION_STATUSES:
                return sid, session
            n += 1
            nxt = f"{base}-{n}"
            if ctx.session(self.workspace, nxt) is None:
                reopen = h.hook_event_name in _REOPENERS and (
                    session.status != "killed" or starts_again)
                return (nxt, None) if reopen else (sid, session)
            sid = nxt
        return sid, ctx.session(self.workspace, sid)

    def _agent(self, out: list[dict[str, Any]], ts: float) -> str:
        path, project = _project(self.hook)
        host = self.hook.agentops.host or ""
        agent_id = "claude-code-" + hashlib.sha1(f"{host}\0{path}".encode()).hexdigest()[:12]
        name = f"claude-code {project or '?'}" + (f"@{host}" if host else "")
        out.append({"type": "agent.registered", "agent_id": agent_id, "name": name[:200],
                    "kind": "coder", "framework": "claude-code",
                    "capabilities": list(claude_control.CAPABILITIES),
                    "model": _model(self.hook.model), "ts": ts})
        return agent_id

    def _tool_call(
        self, ctx: WriteContext, ts: float, session_id: str, failed: bool
    ) -> dict[str, Any]:
        h = self.hook
        row = ctx.conn.execute(
            "SELECT started_at FROM claude_tool_starts WHERE workspace = ? AND session_id = ?"
            " AND tool_key = ?",
            (self.workspace, session_id, _tool_key(h)),
        ).fetchone()
        duration = max(0.0, (ts - row[0]) * 1000) if row is not None else None
        if duration is not None and duration > MAX_DURATION_MS:
            duration = None  # a start left over from long ago: not this call's
        error = failed or _looks_failed(h.tool_response)
        shown = h.error if failed else h.tool_response
        output = shown if isinstance(shown, str) else _summary(shown)
        return {"type": "session.tool_call", "session_id": session_id,
                "tool": h.tool_name or "tool", "status": "error" if error else "ok",
                "duration_ms": duration, "output": output[:MAX_OUTPUT] if output else None,
                "ts": ts,
                "event_key": f"cc:{h.session_id}:tool:{h.tool_use_id}" if h.tool_use_id else None}


# Every field whose text can end up stored: in an event, a title, a tool key.
_TEXT_FIELDS = ("cwd", "model", "source", "reason", "prompt", "message", "tool_name",
                "tool_response", "error", "agent_type", "last_assistant_message")


def redacted(h: HookPayload) -> HookPayload:
    """The hook with its secrets redacted, before anything is derived (and clipped) from it:
    a secret cut in two by a clip would no longer be recognised."""
    extras = h.agentops.model_copy(update={
        name: redact_json(getattr(h.agentops, name)) for name in ("host", "project_dir", "reply")
    })
    update = {name: redact_json(getattr(h, name)) for name in _TEXT_FIELDS}
    return h.model_copy(update={**update, "agentops": extras})


def _project(h: HookPayload) -> tuple[str, str]:
    path = (h.agentops.project_dir or h.cwd or "").rstrip("/\\")
    return path, posixpath.basename(path.replace("\\", "/"))


def _model(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id") or value.get("display_name")
    return str(value)[:200] if value else None


def _tool_key(h: HookPayload) -> str:
    if h.tool_use_id:
        return h.tool_use_id
    raw = json.dumps(h.tool_input, sort_keys=True, default=str)
    return f"{h.tool_name}:{hashlib.sha1(raw.encode()).hexdigest()[:16]}"


def _looks_failed(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    return bool(
        response.get("is_error") or response.get("isError") or response.get("interrupted")
        or response.get("success") is False or response.get("error")
    )


def _summary(response: Any) -> str | None:
    if response is None:
        return None
    if isinstance(response, dict):
        for name in ("stdout", "output", "result", "content"):
            if isinstance(response.get(name), str) and response[name]:
                return str(response[name])
    return json.dumps(response, default=str)[:MAX_OUTPUT]
