"""Keep credentials in query strings out of the access log.

No route takes a token in the URL (only `Authorization: Bearer`), but clients that cannot set
headers (a browser's EventSource) try `?token=`, and uvicorn logs every request line with its
query string. The filter replaces the value of any parameter whose name says it is a secret.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

ACCESS_LOGGER = "uvicorn.access"
SECRET_NAME = re.compile(r"token|key|secret|password|passwd|auth|signature", re.IGNORECASE)
MASK = "[REDACTED]"


def mask_query(path_with_query: str) -> str:
    path, sep, query = path_with_query.partition("?")
    if not sep:
        return path_with_query
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}={MASK}" if eq and SECRET_NAME.search(unquote_plus(name)) else pair)
    return f"{path}?{'&'.join(pairs)}"


class SecretQueryFilter(logging.Filter):
    """For uvicorn's access records: `'%s - "%s %s HTTP/%s" %d'`, the path is the 3rd arg."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_query(args[2]), *args[3:])
        return True


def install() -> None:
    """Call after uvicorn configured logging (building its Config does), so it stays."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, SecretQueryFilter) for f in logger.filters):
        logger.addFilter(SecretQueryFilter())
