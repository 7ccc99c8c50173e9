"""Keep secrets out of the server's logs.

No route takes a token in the URL (only `Authorization: Bearer`), but clients that cannot set
headers (a browser's EventSource) try `?token=`, and uvicorn logs every request line with its
query string: `SecretQueryFilter` replaces the value of any parameter whose name says it is a
secret. Everything stored is redacted on the way in, but a log line can still quote client
text before that (an exception's message, a refused value): `RedactingFilter` passes each
record's message and traceback through the same redaction as stored text. Log lines are few,
so its cost does not matter.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from agentops_tui.server.redact import redact

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


class RedactingFilter(logging.Filter):
    """For a handler: the record's text, arguments merged in, and its traceback, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments are redacted one by one rather than merged into the message: uvicorn's
        # access formatter reads them as a tuple (client, method, path, version, status).
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _redact_arg(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value  # numbers keep their type for %d and %f
    return redact(value if isinstance(value, str) else str(value))


def redact_handler(handler: logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


def install() -> None:
    """Call after uvicorn configured logging (building its Config does), so it stays: masks
    secret query values in the access log and redacts every record its handlers write."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, SecretQueryFilter) for f in logger.filters):
        logger.addFilter(SecretQueryFilter())
    for name in ("", "uvicorn", "uvicorn.error", ACCESS_LOGGER):
        for handler in logging.getLogger(name).handlers:
            redact_handler(handler)
