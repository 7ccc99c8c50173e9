"""Secret redaction applied at ingest, before anything is stored or streamed.

Agents paste whatever they see into messages and tool output; API keys among it must never
reach the disk or an operator's scrollback. Each match becomes `[REDACTED:<kind>]`; for
`key=value` pairs and bearer headers the key stays so the text still reads.
"""

from __future__ import annotations

import re

# Order matters: the more specific prefix (sk-ant-) must win over the generic one (sk-).
_PATTERNS: list[tuple[str, str]] = [
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    ("openai_key", r"sk-(?:proj-)?[A-Za-z0-9_\-]{16,}"),
    ("aws_access_key", r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    ("github_pat", r"github_pat_[A-Za-z0-9_]{20,}"),
    ("github_token", r"gh[pousr]_[A-Za-z0-9]{20,}"),
]
_KINDS = [kind for kind, _ in _PATTERNS]

_TOKEN_RE = re.compile("|".join(f"(?P<{kind}>{rx})" for kind, rx in _PATTERNS))
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=\-]{8,})")
_PAIR_RE = re.compile(
    r"(?i)\b((?:password|passwd|pwd|api[_-]?key|secret|access[_-]?token|auth[_-]?token)"
    r"\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
# Cheap pre-check so clean text (the common case) skips the patterns: every secret above
# contains one of these (lower-cased). Substring tests beat one case-insensitive regex
# alternation about tenfold, and most messages are clean.
_HINTS = ("sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
          "bearer", "pass", "pwd", "key", "secret", "token")


def _maybe_secret(text: str) -> bool:
    lowered = text.lower()
    for hint in _HINTS:  # a plain loop: a generator in any() doubles the cost
        if hint in lowered:
            return True
    return False


def _token_repl(match: re.Match[str]) -> str:
    return f"[REDACTED:{match.lastgroup}]"


def redact(text: str) -> str:
    """Return `text` with every recognised secret replaced by `[REDACTED:<kind>]`."""
    if not text or not _maybe_secret(text):
        return text
    text = _TOKEN_RE.sub(_token_repl, text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}[REDACTED:bearer_token]", text)
    return _PAIR_RE.sub(lambda m: f"{m.group(1)}[REDACTED:credential]", text)


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
