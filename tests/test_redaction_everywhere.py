"""Every kind of secret, sent through every free-text field of every way in (ingest, control,
acks, approvals, queues and tasks, OTLP, Claude Code hooks), is found nowhere afterwards: not
in the database file or its WAL, not on the stream, not in any read endpoint, not in the log.

Each field gets its own copy of the secret (a distinct tag inside it), so a leak names the
kind and the field it came through.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conftest import LiveServer
from factories import agent, ended, message, started, tool
from sse import SseReader
from waiting import wait_for


def _pem(tag: str) -> tuple[str, list[str]]:
    body, tail = f"MIIEpAIBAAKCAQEAzx{tag}Lq8Wv2Rt5", f"b3BlbnNzaC1rZXktdjE{tag}Qx9"
    return (f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n{tail}\n-----END RSA PRIVATE KEY-----",
            [body, tail])


def _gcp(tag: str) -> tuple[str, list[str]]:
    key_id, body = f"9f{tag}c1e2d3b4a5f6071829ab", f"MIIEvQIBADANBg{tag}kqhkiG9w0"
    text = json.dumps({"private_key_id": key_id, "private_key":
                       f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"})
    return text, [key_id, body]


def _plain(make: Callable[[str], str], secret: Callable[[str], str]) -> Callable[
        [str], tuple[str, list[str]]]:
    return lambda tag: (make(tag), [secret(tag)])


# kind -> tag -> (text to send, substrings that must never be seen again)
SECRETS: dict[str, Callable[[str], tuple[str, list[str]]]] = {
    "anthropic": _plain(lambda t: f"key sk-ant-api03-Zx{t}Lq8Wv2Rt5Yp9Mn in use",
                        lambda t: f"Zx{t}Lq8Wv2Rt5Yp9Mn"),
    "openai": _plain(lambda t: f"OPENAI_API_KEY=sk-proj-Zx{t}Lq8Wv2Rt5Yp9MnKd",
                     lambda t: f"Zx{t}Lq8Wv2Rt5Yp9MnKd"),
    "aws": _plain(lambda t: f"aws AKIAZX{t}LQ8WV2RT5YPM here", lambda t: f"ZX{t}LQ8WV2RT5YPM"),
    "github": _plain(lambda t: f"push with ghp_Zx{t}Lq8Wv2Rt5Yp9MnKdJs3Hf",
                     lambda t: f"Zx{t}Lq8Wv2Rt5Yp9MnKdJs3Hf"),
    "pem": _pem,
    "pem_unterminated": _plain(
        lambda t: f"key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA{t}Qx9\nAAAB",
        lambda t: f"b3BlbnNzaC1rZXktdjEAAAA{t}Qx9"),
    "slack": _plain(lambda t: f"slack xoxb-1234567890{t}-9876543210-Zx{t}Lq8Wv2Rt5Yp9Mn",
                    lambda t: f"Zx{t}Lq8Wv2Rt5Yp9Mn"),
    "gcp": _gcp,
    "bearer": _plain(lambda t: f"Authorization: Bearer Zx{t}Lq8Wv2.Rt5Yp9Mn",
                     lambda t: f"Zx{t}Lq8Wv2.Rt5Yp9Mn"),
    "password": _plain(lambda t: f"connect with password=hunter{t}horse",
                       lambda t: f"hunter{t}horse"),
    "random_token": _plain(lambda t: f"session_token=Zx{t}Lq8Wv2Rt5Yp9 set",
                           lambda t: f"Zx{t}Lq8Wv2Rt5Yp9"),
    "url_password": _plain(lambda t: f"db postgres://admin:Pw{t}hunterhorse@db.internal:5432/app",
                           lambda t: f"Pw{t}hunterhorse"),
}


class Fields:
    """Hands out the secret for one field and remembers which needle belongs to which."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.needles: dict[str, str] = {}  # needle -> field

    def __call__(self, field: str) -> str:
        tag = f"{len(set(self.needles.values())):02d}"
        text, needles = SECRETS[self.kind](tag)
        for needle in needles:
            self.needles[needle] = field
        return text

    def leaks(self, where: str, data: bytes | str) -> list[str]:
        raw = data.encode() if isinstance(data, str) else data
        return [f"{self.kind} via {field} seen in {where}"
                for needle, field in self.needles.items() if needle.encode() in raw]


def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 202)), response.text
    return response.json()


def ingest(c: httpx.Client, *events: dict[str, Any]) -> None:
    ok(c.post("/api/v1/ingest", json={"events": list(events)}))


def send_ingest(c: httpx.Client, s: Fields) -> None:
    ingest(
        c,
        agent("ag-1", name=s("agent.name"), description=s("agent.description"),
              avatar=s("agent.avatar")),
        started("se-1", "ag-1", title=s("session.title")),
        message("se-1", content=s("message.content")),
        tool("se-1", output=s("tool.output")),
        {"type": "session.status", "session_id": "se-1", "status": "running",
         "detail": s("session.status.detail")},
        {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
         "summary": s("approval.summary"), "detail": s("approval.detail")},
        {"type": "approval.requested", "approval_id": "ap-2", "session_id": "se-1",
         "summary": "deploy"},
        started("se-2", "ag-1"),
        ended("se-2", "failed", error=s("session.error")),
    )


def send_control(c: httpx.Client, s: Fields) -> None:
    inject = ok(c.post("/api/v1/sessions/se-1/inject", json={"message": s("inject.message")}))
    ok(c.post(f"/api/v1/commands/{inject['id']}/ack",
              json={"ok": True, "detail": s("ack.detail")}))
    pause = ok(c.post("/api/v1/sessions/se-1/pause"))
    ok(c.post(f"/api/v1/commands/{pause['id']}/ack",
              json={"ok": False, "detail": s("ack.refusal_detail")}))
    ok(c.post("/api/v1/sessions/se-2/inject", json={"message": s("inject.refused")}), 409)
    ok(c.post("/api/v1/approvals/ap-1/approve", json={"note": s("approval.note")}))
    ok(c.post("/api/v1/approvals/ap-2/reject", json={"reason": s("approval.reason")}))
    ok(c.post("/api/v1/approvals/ap-1/approve", json={"note": s("approval.note_refused")}), 409)


def send_queues(c: httpx.Client, s: Fields) -> None:
    queue = ok(c.post("/api/v1/work-queues", json={
        "name": s("queue.name"), "description": s("queue.description")}), 201, 200)
    qid = queue["id"]
    payload = {"note": s("task.payload"), "steps": [{"env": s("task.payload.nested")}]}
    done = ok(c.post(f"/api/v1/work-queues/{qid}/tasks",
                     json={"name": s("task.name"), "priority": 5, "payload": payload}), 201, 200)
    failed = ok(c.post(f"/api/v1/work-queues/{qid}/tasks", json={"name": "second"}), 201, 200)
    ok(c.post("/api/v1/work-queues/wq_missing/tasks", json={"name": s("task.name_refused")}), 404)
    ok(c.post(f"/api/v1/work-queue-tasks/{done['id']}/complete",
              json={"result": {"summary": s("task.result")}}))
    ok(c.post(f"/api/v1/work-queue-tasks/{failed['id']}/fail", json={"error": s("task.error")}))


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, name: str, parent: str = "", status: int = 0, message_: str = "",
          **attrs: str) -> dict[str, Any]:
    now = time.time()
    return {"traceId": "7b8efff798038103d269b633813fc60c", "spanId": span_id,
            "parentSpanId": parent, "name": name, "kind": 1,
            "startTimeUnixNano": str(int((now - 1) * 1e9)), "endTimeUnixNano": str(int(now * 1e9)),
            "attributes": [_attr(k.replace("__", "."), v) for k, v in attrs.items()],
            "status": {"code": status, "message": message_}}


def send_otlp(c: httpx.Client, s: Fields) -> None:
    root = "a000000000000001"
    prompt = [{"role": "user", "parts": [{"type": "text", "content": s("otlp.prompt")}]}]
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": s("otlp.answer")}]}]
    spans = [
        _span(root, s("otlp.span_name"), status=2, message_=s("otlp.agent_error"),
              gen_ai__operation__name="invoke_agent", gen_ai__agent__name=s("otlp.agent_name"),
              gen_ai__input__messages=json.dumps(prompt)),
        _span("b000000000000001", "chat", root, gen_ai__operation__name="chat",
              gen_ai__request__model="claude-sonnet-4",
              gen_ai__output__messages=json.dumps(answer)),
        _span("c000000000000001", "execute_tool x", root, gen_ai__operation__name="execute_tool",
              gen_ai__tool__name=s("otlp.tool_name"),
              gen_ai__tool__call__arguments=s("otlp.tool_args"),
              gen_ai__tool__call__result=s("otlp.tool_result")),
        _span("c000000000000002", "execute_tool y", root, status=2,
              message_=s("otlp.tool_error"), gen_ai__operation__name="execute_tool"),
        # its parent never arrives: its events wait in the span table
        _span("d000000000000001", "execute_tool z", "e000000000000009",
              gen_ai__operation__name="execute_tool",
              gen_ai__tool__call__result=s("otlp.pending_result")),
    ]
    body = {"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", s("otlp.service"))]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}
    r = c.post("/v1/traces", content=json.dumps(body).encode(),
               headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {}, r.text


HOOK = "/api/v1/hooks/claude-code"


def send_hooks(c: httpx.Client, s: Fields) -> None:
    def hook(event: str, **fields: Any) -> None:
        ok(c.post(HOOK, json={"session_id": "cc-1", "hook_event_name": event, **fields}))

    hook("SessionStart", cwd=f"/work/{s('hook.cwd')}", model=s("hook.model"),
         agentops={"host": s("hook.host")})
    hook("UserPromptSubmit", prompt=s("hook.prompt"))
    hook("PreToolUse", tool_name="Bash", tool_use_id="toolu_1",
         tool_input={"command": s("hook.tool_input")})
    hook("PostToolUse", tool_name="Bash", tool_use_id="toolu_1",
         tool_response={"stdout": s("hook.tool_output")})
    hook("PostToolUseFailure", tool_name="Bash", tool_use_id="toolu_2",
         error=s("hook.tool_error"))
    hook("PreToolUse", tool_name=s("hook.tool_name"), tool_input={"q": 1})  # never finished
    hook("PreToolUse", tool_name="Read", agent_id="sub1", agent_type=s("hook.agent_type"))
    hook("PermissionRequest", tool_name="Bash", tool_input={"command": s("hook.permission")})
    hook("Notification", message=s("hook.notification"))
    hook("Stop", last_assistant_message=s("hook.reply"))
    hook("SessionEnd", reason=s("hook.reason"), agentops={"reply": s("hook.transcript_reply")})


def read_everything(c: httpx.Client) -> dict[str, str]:
    """Every GET the API documents but the streams, with each path parameter filled in from
    what exists."""
    ids: dict[str, list[str]] = {
        "session_id": [x["id"] for x in ok(c.get("/api/v1/sessions?limit=1000"))["sessions"]],
        "agent_id": [x["id"] for x in ok(c.get("/api/v1/agents"))["agents"]],
        "approval_id": [x["id"] for x in ok(c.get("/api/v1/approvals"))["approvals"]],
        "queue_id": [x["id"] for x in ok(c.get("/api/v1/work-queues"))["queues"]],
        "task_id": [x["id"] for x in ok(c.get("/api/v1/tasks"))["tasks"]],
    }
    ids["name"] = ids["agent_id"]
    ids["agent_name"] = [x["name"] for x in ok(c.get("/api/v1/agents"))["agents"]]
    # streams, and a held hook's wait (its id is given only to the hook that is held)
    streams = {"/api/v1/stream", "/api/v1/agents/{agent_id}/commands", "/api/agent-ops/stream",
               "/api/v1/hooks/claude-code/waits/{wait_id}", "/agents/{agent_id}/messages/stream"}
    paths = [p for p, ops in ok(c.get("/openapi.json"))["paths"].items()
             if "get" in ops and p not in streams]
    paths += ["/api/v1/agents/{agent_id}/commands?wait=0", "/api/v1/audit?format=csv",
              "/api/v1/audit?format=jsonl", "/api/v1/events?after=0&limit=5000",
              "/api/v1/costs?group_by=task", "/api/v1/costs?group_by=model"]
    seen: dict[str, str] = {}
    for path in paths:
        urls = [path]
        for param, values in ids.items():
            if "{" + param + "}" in path:
                urls = [u.replace("{" + param + "}", quote(v, safe="")) for u in urls
                        for v in values if "/" not in v]  # (an OTLP agent's: no route)
        for url in urls:
            r = c.get(url)
            assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:200]}"
            seen[url] = r.text
    assert any("/messages" in u for u in seen) and any("/tasks/" in u for u in seen)
    return seen


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_no_secret_is_seen_again(kind: str, live: LiveServer, caplog: pytest.LogCaptureFixture,
                                 capfd: pytest.CaptureFixture[str]) -> None:
    for logger in ("agentops", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger)
    s = Fields(kind)
    headers = {"Authorization": f"Bearer {live.token}"}
    stream = SseReader(f"{live.url}/api/v1/stream", headers).start()
    with live.client() as c:
        ok(c.get("/api/v1/snapshot"))
        wait_for(lambda: live.open_streams() == 1, what="the stream to subscribe")
        for send in (send_ingest, send_control, send_queues, send_otlp, send_hooks):
            send(c, s)
        head = ok(c.get("/api/v1/snapshot"))["last_event_id"]
        live_frames = stream.wait_for(1)
        deadline = time.monotonic() + 10
        while int(live_frames[-1].id or 0) < head and time.monotonic() < deadline:
            time.sleep(0.05)
            live_frames = list(stream.frames)
        stream.stop()
        replay = SseReader(f"{live.url}/api/v1/stream", headers, {"since": 0}).start()
        replayed = replay.wait_for(head)
        replay.stop()
        reads = read_everything(c)

    assert len(set(s.needles.values())) >= 45  # every sender ran
    leaks: list[str] = []
    for path in sorted(live.db.parent.glob(live.db.name + "*")):  # the file, its WAL
        leaks += s.leaks(path.name, path.read_bytes())
    for frames, name in ((live_frames, "the live stream"), (replayed, "the replayed stream")):
        for frame in frames:
            leaks += s.leaks(f"{name} ({frame.event})", json.dumps(frame.data))
    for url, text in reads.items():
        leaks += s.leaks(f"GET {url}", text)
    out, err = capfd.readouterr()
    leaks += s.leaks("the server log", out + err + caplog.text)
    assert not leaks, "\n".join(sorted(set(leaks)))
