"""What may be shown of a channel URL: its scheme and, where it is not a secret, its host.

Apprise URLs put secrets in different places: `slack://TokenA/TokenB/TokenC` and
`tgram://bottoken/chat` carry them where a host would be, `json://user:pass@host/path` in
the user info, webhook paths often in the path. So only the scheme is kept, plus the host
of the URL shapes whose host is a plain address (the web hooks, or any URL with user info
before an `@`); user info, path and query are never shown.
"""

from __future__ import annotations

# Schemes whose host part is a server's address, not a token.
_HOST_SCHEMES = frozenset({
    "json", "jsons", "xml", "xmls", "form", "forms", "http", "https",
    "mailto", "mailtos", "gotify", "gotifys", "matrix", "matrixs",
})

MASK = "****"


def mask_url(url: str) -> str:
    """`json://user:pass@host:8080/hook` → `json://…@host:8080/…`; `slack://a/b/c` →
    `slack://****`; anything that is not `scheme://…` → `****`."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        return MASK
    scheme = scheme.lower()
    netloc, path_sep, _tail = _split_netloc(rest)
    userinfo, at, host = netloc.rpartition("@")
    if not at and scheme not in _HOST_SCHEMES:
        return f"{scheme}://{MASK}"
    if not host:
        return f"{scheme}://{MASK}"
    shown = f"{scheme}://{'…@' if userinfo or at else ''}{host}"
    return shown + ("/…" if path_sep else "")


def _split_netloc(rest: str) -> tuple[str, bool, str]:
    """The authority part and whether anything (path, query, fragment) follows it.

    A password may itself hold `/` (apprise accepts it unquoted), so the last `@` before
    the query decides where the authority ends; an `@` in the query (`?to=a@b.c`) does not."""
    query_at = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, query_at)
    start = at + 1 if at >= 0 else 0
    cut = len(rest)
    for mark in "/?#":
        found = rest.find(mark, start)
        if found >= 0:
            cut = min(cut, found)
    return rest[:cut], cut < len(rest), rest[cut:]


def mask_text(text: str, urls: list[str]) -> str:
    """`text` (an error message, a log line) with every one of `urls` replaced by its mask,
    and the secret-looking parts of each (user info, path) removed too."""
    for url in sorted(urls, key=len, reverse=True):
        if not url:
            continue
        text = text.replace(url, mask_url(url))
        _scheme, _sep, rest = url.partition("://")
        for part in _secret_parts(rest):
            text = text.replace(part, MASK)
    return text


def _secret_parts(rest: str) -> list[str]:
    netloc, _has_path, tail = _split_netloc(rest)
    userinfo, _at, host = netloc.rpartition("@")
    parts = [userinfo, tail.lstrip("/"), *_pieces(tail)]
    if "@" not in netloc:
        parts.append(host)
    if ":" in userinfo:
        parts.append(userinfo.split(":", 1)[1])
    # a host that is a plain address is not a secret, and masking it would garble messages
    return [p for p in parts if len(p) >= 4 and not _is_address(p)]


def _pieces(tail: str) -> list[str]:
    """Path segments and query values: a plugin may log a token on its own."""
    path, _q, query = tail.partition("?")
    values = [pair.partition("=")[2] for pair in query.split("&")]
    return [p for p in (*path.split("/"), *values) if p]


def _is_address(part: str) -> bool:
    return all(c.isdigit() or c in ".:[]" for c in part) or part in ("localhost",)
