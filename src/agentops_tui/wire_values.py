"""Value types of the wire models, each declared once with what the store can hold.

The writer commits many requests in one transaction, so a value SQLite or the JSON encoder
refuses there would fail its neighbours too; these limits make it this request's 422, and
the OpenAPI document shows them.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field


def parse_ts(value: Any) -> Any:
    """Accept epoch seconds or an ISO 8601 string; hand pydantic a float or the bad value."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.timestamp()
    return value


EPOCH_2000 = 946_684_800.0
EPOCH_2100 = 4_102_444_800.0
MAX_DURATION_MS = 7 * 86_400_000.0  # a week
MAX_COST_USD = 1_000_000.0  # one report; rollups keep 1e-10 USD units in 64-bit integers
MAX_TOKENS = 10**12  # one report; sums of many stay far below 2^63
MAX_INT64 = 2**63 - 1  # the largest integer SQLite stores: ids, cursors, sequence numbers
MAX_JSON_DEPTH = 32  # levels of arrays and objects in a free-form value (task payload ...)
ID_RULE = "1-200 characters, no '/' or control characters, not '.' or '..'"

# Any character but '/' and C0/C1 controls; the first alternatives keep out '.' and '..',
# which clients resolve away as path segments (the id would be unreachable in a URL).
_ID_CHAR = r"[^/\x00-\x1f\x7f-\x9f]"
_ID_NOT_DOT = r"[^./\x00-\x1f\x7f-\x9f]"
ID_PATTERN = (
    rf"^(?:{_ID_NOT_DOT}{_ID_CHAR}*|\.{_ID_NOT_DOT}{_ID_CHAR}*|\.\.{_ID_CHAR}+)$"
)

# Epoch seconds or ISO 8601, unbounded (query filters); `EventTime` is what may be stored.
Timestamp = Annotated[float, BeforeValidator(parse_ts)]
# The bounds come before the parser: so they stay in pydantic-core (after a Python
# validator they would be checked in Python, at four times the cost per event).
EventTime = Annotated[
    float,
    Field(ge=0, le=EPOCH_2100, allow_inf_nan=False,
          description="epoch seconds or ISO 8601, from 1970 to 2100"),
    BeforeValidator(parse_ts),
]
Deadline = Annotated[
    float,
    Field(ge=EPOCH_2000, le=EPOCH_2100, allow_inf_nan=False,
          description="epoch seconds or ISO 8601, from 2000 to 2100"),
    BeforeValidator(parse_ts),
]
Id = Annotated[
    str, Field(min_length=1, max_length=200, pattern=ID_PATTERN, description=ID_RULE)
]
Key = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=65_536)]
def integral(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer and requests are strict: take it as 3."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(integral)]  # constraints go before the validator
Count = Annotated[int, Field(ge=0, le=MAX_TOKENS), BeforeValidator(integral)]
TokenCount = Count
Money = Annotated[
    float, Field(ge=0, le=MAX_COST_USD, allow_inf_nan=False, description="US dollars")
]
DurationMs = Annotated[
    float, Field(ge=0, le=MAX_DURATION_MS, allow_inf_nan=False,
                 description="milliseconds, at most 7 days")
]


def valid_text(value: str) -> str:
    """Refuse a lone surrogate (`"\\ud800"` is valid JSON to `json.loads`): no encoder can
    write it. Pydantic refuses it in `str` fields, but not inside an `Any` value."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError("text holds a lone surrogate; send valid Unicode") from None
    return value


def _storable_json(value: Any) -> Any:
    """A free-form value: nested at most `MAX_JSON_DEPTH` levels, finite numbers, valid text.
    Iterative, so a deep value costs no recursion."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            valid_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                pending.extend((k, depth) for k in item)
                pending.extend((v, depth + 1) for v in item.values())
            else:
                pending.extend((v, depth + 1) for v in item)
    return value


JsonValue = Annotated[
    Any, AfterValidator(_storable_json),
    Field(description=f"any JSON value, nested at most {MAX_JSON_DEPTH} levels"),
]
