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
# `password%3Dhunter2` (a query string or form body pasted still encoded): the value ends
# where an encoded `&` (%26) or a plain separator does.
_ENCODED_PAIR_RE = re.compile(
    rf"(?i)(?=[acpkst])(?P<key>{_DEFINITE_KEY}|{_SENSITIVE_KEY})%3[ad]"
    r"(?P<value>(?:[^\s,;&%]|%(?!26)){1,1024})"
)
# A password glued to `-p` (`mysql -pSECRET`, `sshpass -p SECRET`). A `-p` elsewhere is no
# password (`mkdir -p`, `ssh -p 22`), so only these clients' command lines are looked at, and
# for mysql only a value glued on: `mysql -p db` prompts and `db` is a database.
_FLAG_CLIENTS = ("mysql", "mariadb", "sshpass")
_FLAG_RE = re.compile(
    r"(?i:\b(?P<client>mysql\w{0,10}|mariadb[\w\-]{0,12}|sshpass)\b)"
    r"[^\n;|&]{0,200}?\s-p(?P<gap>[ \t]*)"
    r"(?P<value>'[^'\n]*'|\"[^\"\n]*\"|[^\s'\"]\S*)"
)
# A key wrapped onto the next line (a terminal's width, a fixed-width dump), raw or escaped
# inside a JSON string: its head ends a line and its tail starts the next ones.
_SPLIT_RE = re.compile(
    r"(?P<head>(?:sk-|[rs]k_|AKIA|ASIA|gh[pousr]_|github_pat_|xox|xapp-|AIza)"
    r"[A-Za-z0-9_\-]{0,256}+)"
    r"(?P<rest>(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9_\-]{1,256}+){1,8}+)"
)
_BREAK_RE = re.compile(r"(\r?\n|\\r\\n|\\n)")

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
    return _value_repl(match, next(g for g in _VALUE_GROUPS if match.group(g) is not None))


def _flag_repl(match: re.Match[str]) -> str:
    if match.group("gap") and match.group("client").lower() != "sshpass":
        return match.group(0)  # `mysql -p db`: asks for the password, `db` is no secret
    start, end = match.span("value")
    whole, offset = match.group(0), match.start()
    return f"{whole[: start - offset]}[REDACTED:credential]{whole[end - offset:]}"


def _split_repl(match: re.Match[str]) -> str:
    """The key and as many following lines as continue it: a tail is taken while the head
    is not a whole key yet, or when it has a digit (a random tail has; a word seldom)."""
    pieces = _BREAK_RE.split(match.group("rest"))[1:]  # break, tail, break, tail, ...
    joined = match.group("head")
    best: tuple[int, str] | None = None  # (pieces used, kind) of the longest whole key
    for i in range(0, len(pieces), 2):
        tail = pieces[i + 1]
        whole = _TOKEN_RE.fullmatch(joined) is not None
        longer = _TOKEN_RE.fullmatch(joined + tail)
        if whole and (longer is None or not any(c.isdigit() for c in tail)):
            break
        joined += tail
        if longer is not None:
            best = (i + 2, str(longer.lastgroup))
    if best is None:
        return match.group(0)  # not split, or not a key: the plain patterns decide
    used, kind = best
    return f"[REDACTED:{kind}]" + "".join(pieces[used:])


def _value_repl(match: re.Match[str], group: str) -> str:
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
        if "\n" in text or "\\n" in text:  # a line break, raw or JSON-escaped
            text = _SPLIT_RE.sub(_split_repl, text)
        text = _TOKEN_RE.sub(_token_repl, text)
        text = _BEARER_RE.sub(lambda m: f"{m.group(1)}[REDACTED:bearer_token]", text)
    if "://" in text:
        text = _URL_CREDENTIAL_RE.sub(lambda m: f"{m.group(1)}[REDACTED:credential]@", text)
    if pairs:
        text = _PAIR_RE.sub(_pair_repl, text)
    if "%3" in text:
        for hint in _PAIR_HINTS:
            if hint in lowered:
                text = _ENCODED_PAIR_RE.sub(lambda m: _value_repl(m, "value"), text)
                break
    if "-p" in text:
        for client in _FLAG_CLIENTS:
            if client in lowered:
                text = _FLAG_RE.sub(_flag_repl, text)
                break
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
