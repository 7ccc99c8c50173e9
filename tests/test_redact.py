"""Secrets never reach storage or the stream."""

from __future__ import annotations

import pytest

from agentops_tui.server.redact import redact

from conftest import LiveServer
from factories import message, started, tool


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key sk-ant-api03-AbCdEf0123456789xyz", "anthropic_key"),
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "openai_key"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws_access_key"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "bearer_token"),
        ("connect password=hunter2 now", "credential"),
        ("api_key: 'abc123secret'", "credential"),
    ],
)
def test_patterns(text: str, kind: str) -> None:
    out = redact(text)
    assert f"[REDACTED:{kind}]" in out
    for secret in ("AbCdEf0123", "abcdefghijklmnopqrstuvwx", "AKIAIOSFODNN7EXAMPLE",
                   "ghp_abc", "11ABCDEFG", "eyJhbGci", "hunter2", "abc123secret"):
        assert secret not in out


def test_clean_text_is_untouched() -> None:
    text = "Refactored the tokenizer; passwords module has 3 tests; skip-list ok"
    assert redact(text) == text


def test_redaction_happens_before_storage_and_stream(live: LiveServer) -> None:
    secret = "sk-ant-api03-SECRETSECRETSECRET"
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            started(), message(content=f"use {secret}"),
            tool(output=f"export KEY={secret}"),
        ]}).raise_for_status()
        messages = c.get("/api/v1/sessions/se-1/messages").json()["messages"]
        events = c.get("/api/v1/events?after=0").text
    assert messages[0]["content"] == "use [REDACTED:anthropic_key]"
    assert secret not in events
    for path in live.db.parent.glob(live.db.name + "*"):  # the file and its WAL
        assert secret.encode() not in path.read_bytes()
