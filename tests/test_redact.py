"""Secrets never reach storage or the stream."""

from __future__ import annotations

import json
import time

import pytest

from agentops_tui.server.redact import redact, redact_json

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


KEY_BODY = "MIIEpAIBAAKCAQEA7bq9Xv2Lq8Wv2Rt5"


@pytest.mark.parametrize("label", ["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "", "DSA "])
def test_pem_private_keys_are_redacted_whole(label: str) -> None:
    text = (f"cat id:\n-----BEGIN {label}PRIVATE KEY-----\n{KEY_BODY}\nAAAB3NzaC1yc2E\n"
            f"-----END {label}PRIVATE KEY-----\ndone")
    assert redact(text) == "cat id:\n[REDACTED:private_key]\ndone"
    escaped = text.replace("\n", "\\n")  # as inside a JSON string
    assert redact(escaped) == "cat id:\\n[REDACTED:private_key]\\ndone"


def test_an_unterminated_pem_block_is_redacted_to_the_end() -> None:
    text = f"here: -----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\nAAAA (clipped"
    assert redact(text) == "here: [REDACTED:private_key]"


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("bot xoxb-1234567890-9876543210-AbCdEfGhIjKlMnOp", "slack_token", "AbCdEfGhIjKl"),
        ("user xoxp-1234567890-9876543210-AbCdEfGhIjKlMnOp", "slack_token", "AbCdEfGhIjKl"),
        ("app xapp-1-A0123456789-1234567890-abcdef0123", "slack_token", "abcdef0123"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key", "4eC39HqLyjWD"),
        ("maps AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "google_api_key", "9tSrke72Pou"),
        ("session_token=9fQ2xL7pW3mZ8vR4q1 ok", "credential", "9fQ2xL7pW3mZ8vR4q1"),
        ('"client_secret": "short"', "credential", "short"),
        ("DB_PASSWORD=hunter2", "credential", "hunter2"),
        ("postgres://admin:s3cr3t-pw@db:5432/app", "credential", "s3cr3t-pw"),
        ("ssh key passphrase=correct-horse ok", "credential", "correct-horse"),
        ("PASSPHRASE: correct-horse", "credential", "correct-horse"),
        ("config { password => 'hunter22' }", "credential", "hunter22"),
        ("password =>hunter22", "credential", "hunter22"),
    ],
)
def test_more_patterns(text: str, kind: str, secret: str) -> None:
    out = redact(text)
    assert f"[REDACTED:{kind}]" in out and secret not in out, out


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mysql -u root -pS3cretPass! shop", "S3cretPass!"),
        ("$ mysqldump -h db -uadmin -p'hunter 22' --all-databases", "hunter 22"),
        ("MARIADB -pS3cretPass -e 'select 1'", "S3cretPass"),
        ("mysqladmin --user=root -p\"pa55word\" status", "pa55word"),
        ("sshpass -p 'correct horse' ssh deploy@host", "correct horse"),
        ("sshpass -pS3cret ssh deploy@host", "S3cret"),
    ],
)
def test_a_password_glued_to_a_command_line_flag(text: str, secret: str) -> None:
    out = redact(text)
    assert "[REDACTED:credential]" in out and secret not in out, out


def test_a_password_flag_needs_a_value_and_a_client_that_takes_one() -> None:
    for text in ("mysql -u root -p shop", "mysql -P3306 -h db", "mkdir -p build/out",
                 "ssh -p 2222 deploy@host", "sshpass -f pwfile ssh host"):
        assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /login?user=ann&password%3Dhunter2%26next%3D%2F", "hunter2"),
        ("body: user%3Dann%26PASSWORD%3Dhunter2", "hunter2"),
        ("redirect?api_key%3A9fQ2xL7pW3mZ8vR4q1", "9fQ2xL7pW3mZ8vR4q1"),
        ("client_secret%3ds3cr3t-value&x=1", "s3cr3t-value"),
    ],
)
def test_url_encoded_pairs(text: str, secret: str) -> None:
    out = redact(text)
    assert "[REDACTED:credential]" in out and secret not in out, out
    if "%26next" in text:  # what follows the value stays
        assert out.endswith("[REDACTED:credential]%26next%3D%2F"), out


@pytest.mark.parametrize(
    ("text", "kind", "pieces"),
    [
        ("key: sk-ant-api03-AbCdEf0123\n456789xyzQ done", "anthropic_key", ("0123", "456789")),
        ("sk-proj-abcdefghij\nklmnop123456 ok", "openai_key", ("abcdefghij", "klmnop123456")),
        ("aws AKIAIOSFOD\nNN7EXAMPLE here", "aws_access_key", ("IOSFOD", "NN7EXAMPLE")),
        ("ghp_abcdefghijklmnopqrst\r\nuvwxyz0123456789 x", "github_token",
         ("abcdefghij", "uvwxyz0123")),
        ("wrapped\nAIzaSyD-9tSrke72Pou\nQMnMX-a7eZSW0jkFMBWY\nnext line", "google_api_key",
         ("9tSrke72", "QMnMX")),
    ],
)
def test_a_key_split_across_a_line_break(text: str, kind: str, pieces: tuple[str, ...]) -> None:
    escaped = text.replace("\r", "\\r").replace("\n", "\\n")  # as inside a JSON string
    for sample in (text, escaped):
        out = redact(sample)
        assert f"[REDACTED:{kind}]" in out, out
        for piece in pieces:
            assert piece not in out, out
    for brk in ("\n", "\\n"):  # a word on the next line is not a key's tail
        clean = f"key sk-ant-api03-AbCdEf0123456789xyz{brk}then run tests"
        assert redact(clean) == f"key [REDACTED:anthropic_key]{brk}then run tests"


def test_gcp_service_account_json() -> None:
    pem = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"
    account = {"type": "service_account", "project_id": "shop",
               "private_key_id": "3f1b0e8f2c11aa00bb00cc00dd00ee00ff001122", "private_key": pem,
               "client_email": "bot@shop.iam.gserviceaccount.com"}
    text = json.dumps(account)
    for shown in (text, json.dumps({"output": text})):  # plain, and escaped in a string
        out = redact(shown)
        assert "3f1b0e8f2c11" not in out and KEY_BODY not in out, out
        assert "[REDACTED:gcp_private_key]" in out and "bot@shop.iam" in out
    assert json.loads(redact(text))["project_id"] == "shop"  # still JSON


def test_clean_text_is_untouched() -> None:
    for text in (
        "Refactored the tokenizer; passwords module has 3 tests; skip-list ok",
        "token=none max_tokens=4096 tokenizer: bert-base-uncased-v2-2021",
        "cache_key: some_long_ordinary_identifier_name; sort_key=created_at",
        "revision_token: 2024-01-01T00:00:00, see https://example.com/docs:42",
        "12 passed, 1 failed in 3.42s",
    ):
        assert redact(text) == text


def test_redact_json_redacts_every_string_and_credential_keys() -> None:
    value = {"note": "use sk-ant-api03-AbCdEf0123456789xyz", "n": 3, "ok": True, "none": None,
             "steps": [{"env": "password=hunter2"}, ["ghp_abcdefghijklmnopqrstuvwxyz0123"]],
             "password": "hunter2", "token": "none", "max_tokens": 4096,
             "api_token": "9fQ2xL7pW3mZ8vR4q1", "sk-ant-api03-AbCdEf0123456789xyz": "as a key"}
    out = redact_json(value)
    assert out == {
        "note": "use [REDACTED:anthropic_key]", "n": 3, "ok": True, "none": None,
        "steps": [{"env": "password=[REDACTED:credential]"}, ["[REDACTED:github_token]"]],
        "password": "[REDACTED:credential]", "token": "none", "max_tokens": 4096,
        "api_token": "[REDACTED:credential]", "[REDACTED:anthropic_key]": "as a key",
    }
    assert value["password"] == "hunter2"  # a copy: the input is left as it was


def test_redact_json_handles_deep_nesting() -> None:
    deep: dict[str, object] = {"s": "sk-ant-api03-AbCdEf0123456789xyz"}
    for _ in range(5000):
        deep = {"k": [deep]}
    out = redact_json(deep)
    for _ in range(5000):
        out = out["k"][0]
    assert out == {"s": "[REDACTED:anthropic_key]"}


@pytest.mark.parametrize("hostile", [
    "a-" * 32_000 + " key=", "_" * 64_000 + "key=1", 'token:"' * 9_000, "x://" * 16_000,
    "-----BEGIN PRIVATE KEY-----" + "a" * 64_000, "sk-ant-" * 9_000, "eyJ-" * 16_000 + "=",
    '"private_key": "' * 4_000, "password=" * 7_000,
    "mysql " * 10_000 + "-p", "password%3D" * 6_000, "sk-ant-a1\n" * 7_000,
    "AKIA" * 16_000 + "\\n1", "mysql -p" * 8_000,
])
def test_hostile_text_takes_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    redact(hostile)
    assert time.perf_counter() - started < 1.0  # linear: tens of ms for 64 KB


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
