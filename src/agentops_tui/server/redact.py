"""Secret redaction applied where client text enters the server, before anything is stored,
streamed, audited or logged.

Agents paste whatever they see into messages and tool output; operators paste into notes and
task payloads. API keys, tokens and private keys among it must never reach the disk or an
operator's scrollback. Each match becomes `[REDACTED:<kind>]`; for `key=value` pairs, JSON
entries and bearer headers the key stays so the text still reads.

`redact` is on the ingest hot path (every message), so clean text — the common case — is
recognised by a few substring tests and returned untouched.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

# Order matters: the more specific prefix (sk-ant-) must win over the generic one (sk-).
_PATTERNS: list[tuple[str, str]] = [
    # a PEM private key; an unterminated block (a clipped paste) is redacted to the end
    ("private_key", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
                    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)"),
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    ("openai_key", r"sk-(?:proj-)?[A-Za-z0-9_\-]{16,}"),
    ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("aws_access_key", r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    ("github_pat", r"github_pat_[A-Za-z0-9_]{20,}"),
    ("github_token", r"gh[pousr]_[A-Za-z0-9]{20,}"),
    ("slack_token", r"(?:xoxe\.)?xox[abeopr]-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,}"),
    ("google_api_key", r"AIza[0-9A-Za-z_\-]{35}"),
]

_TOKEN_RE = re.compile("|".join(f"(?P<{kind}>{rx})" for kind, rx in _PATTERNS))
# A GCP service-account file: `"private_key"` / `"private_key_id"` and its string value,
# plain JSON or JSON escaped inside another string (`\"private_key\": \"...\"`).
_GCP_RE = re.compile(
    r'(?P<plain>"private_key(?:_id)?"\s*:\s*")(?P<v1>(?:[^"\\]|\\.)*)"'
    r'|(?P<escaped>\\"private_key(?:_id)?\\"\s*:\s*\\")(?P<v2>(?:(?!\\").)*)\\"',
    re.DOTALL,
)
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=\-]{8,})")
# Bounded repeats where a failed match would otherwise rescan the rest of a long run from
# every start position (quadratic on hostile text).
_URL_CREDENTIAL_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,30}://[^/\s:@]{1,256}:)([^/\s@]+)@")

# Key names whose value is a secret whatever it looks like (also as the end of a longer
# name: db_password, client_secret, OPENAI_API_KEY).
_DEFINITE_KEY = (r"(?:password|passwd|passphrase|pwd|secret|api[_\-]?key|access[_\-]?token"
                 r"|auth[_\-]?token|private[_\-]?key(?:[_\-]?id)?)")
# Key names whose value is a secret only when it looks random (see `_looks_random`), so
# `token=none` or `max_tokens=4096` stay as they are.
_SENSITIVE_KEY = r"(?:secret|token|key|passw(?:or)?d|pwd|credential)s?"
_DEFINITE_KEY_RE = re.compile(rf"(?i){_DEFINITE_KEY}$")
_SENSITIVE_KEY_RE = re.compile(rf"(?i){_SENSITIVE_KEY}$")
_PAIR_RE = re.compile(
    # the end of the key name is enough; the lookahead lets the engine skip other letters
    rf"(?i)(?=[acpkst])(?P<key>{_DEFINITE_KEY}|{_SENSITIVE_KEY})"
    r"(?P<sep>\\?[\"']?\s*(?:=>|[=:])\s*)"  # key=v, key: v, "key": "v", key => v
    r"(?:\"(?P<v1>(?:[^\"\\\n]|\\.)*)\""  # "double quoted"
    r"|'(?P<v2>[^'\n]*)'"  # 'single quoted'
    r"|\\\"(?P<v3>(?:(?!\\\").)*)\\\""  # \"quoted inside a JSON string\"
    r"|(?P<v4>[^\s,;&]+))"  # bare
)
_VALUE_GROUPS = ("v1", "v2", "v3", "v4")

# Cheap pre-checks so clean text (the common case) skips the patterns: every secret above
# contains one of these (lower-cased). Substring tests beat one case-insensitive regex
# alternation about tenfold, and most messages are clean. Key=value pairs need a `=` or `:`,
# so their (common) words are only looked for when one is there; each family of patterns
# runs only when its own hints are present.
_TOKEN_HINTS = ("sk-", "sk_", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                "github_pat_", "xox", "xapp-", "aiza", "bearer", "-----begin")
_PAIR_HINTS = ("passw", "passphrase", "pwd", "key", "secret", "token", "credential")
# Run on the lower-cased text when a hint is there: is any of those words really a key
# (followed by `=` or `:`)? Several times cheaper than `_PAIR_RE` finding out.
_PAIR_PROBE = re.compile(
    r"(?:passw(?:or)?d|passphrase|pwd|secret|token|key|credential)(?:s|[_\-]?id)?\\?[\"']?\s*[=:]"
)
_REDACTED = "[REDACTED"  # also the access log's bare `[REDACTED]`


def _looks_random(value: str) -> bool:
    """At least 16 characters of two or more classes with the spread of a generated token:
    hex digests, base64 and API keys pass; words, numbers and dates do not."""
    if len(value) < 16 or value.startswith(_REDACTED):
        return False
    classes = (any(c.islower() for c in value) + any(c.isupper() for c in value)
               + any(c.isdigit() for c in value)
               + any(not c.isalnum() and c not in "_-./" for c in value))
    if classes < 2:
        return False
    n = len(value)
    entropy = -sum(k / n * math.log2(k / n) for k in Counter(value).values())
    return entropy >= 3.0


def _token_repl(match: re.Match[str]) -> str:
    return f"[REDACTED:{match.lastgroup}]"


def _gcp_repl(match: re.Match[str]) -> str:
    if match.group("plain") is not None:
        return f'{match.group("plain")}[REDACTED:gcp_private_key]"'
    return f'{match.group("escaped")}[REDACTED:gcp_private_key]\\"'


def _pair_repl(match: re.Match[str]) -> str:
    group = next(g for g in _VALUE_GROUPS if match.group(g) is not None)
    value = match.group(group)
    if value.startswith(_REDACTED):
        return match.group(0)  # already redacted by a more specific pattern
    if not (_DEFINITE_KEY_RE.search(match.group("key")) or _looks_random(value)):
        return match.group(0)
    start, end = match.span(group)
    whole, offset = match.group(0), match.start()
    return f"{whole[: start - offset]}[REDACTED:credential]{whole[end - offset:]}"


def redact(text: str) -> str:
    """Return `text` with every recognised secret replaced by `[REDACTED:<kind>]`."""
    if not text:
        return text
    lowered = text.lower()
    tokens = pairs = False
    for hint in _TOKEN_HINTS:  # plain loops: a generator in any() doubles the cost
        if hint in lowered:
            tokens = True
            break
    if "=" in text or ":" in text:
        for hint in _PAIR_HINTS:
            if hint in lowered:
                pairs = _PAIR_PROBE.search(lowered) is not None
                break
    if pairs:  # before the PEM pattern, which would take the value and leave the id
        text = _GCP_RE.sub(_gcp_repl, text)
    if tokens:
        text = _TOKEN_RE.sub(_token_repl, text)
        text = _BEARER_RE.sub(lambda m: f"{m.group(1)}[REDACTED:bearer_token]", text)
    if "://" in text:
        text = _URL_CREDENTIAL_RE.sub(lambda m: f"{m.group(1)}[REDACTED:credential]@", text)
    if pairs:
        text = _PAIR_RE.sub(_pair_repl, text)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)


def _redact_entry(key: Any, value: Any) -> Any:
    """A string value under a credential-like key is a secret even without `key=` around it:
    `{"password": "hunter2"}`."""
    if isinstance(key, str) and isinstance(value, str) and value and (
            _DEFINITE_KEY_RE.search(key) or (
                _SENSITIVE_KEY_RE.search(key) and _looks_random(value))):
        return "[REDACTED:credential]" if not value.startswith(_REDACTED) else value
    return redact(value) if isinstance(value, str) else value


def redact_json(value: Any) -> Any:
    """A copy of a JSON value (dicts, lists, strings, numbers) with every string redacted,
    keys included. Iterative, so a deeply nested payload cannot exhaust the stack."""
    if isinstance(value, str):
        return redact(value)
    if not isinstance(value, dict | list):
        return value
    root: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
    todo: list[tuple[Any, Any]] = [(value, root)]
    while todo:
        source, target = todo.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            copy: Any
            if isinstance(item, dict | list):
                copy = {} if isinstance(item, dict) else []
                todo.append((item, copy))
            else:
                copy = _redact_entry(key, item)  # a list's keys are its indexes
            if isinstance(target, dict):
                target[redact(key) if isinstance(key, str) else key] = copy
            else:
                target.append(copy)
    return root
