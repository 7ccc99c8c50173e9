"""Reading and rewriting someone else's JSON settings files without losing anything.

A file that cannot be parsed is never overwritten; a file is replaced atomically (a
temporary file in the same directory, then a rename), after a backup copy of what was there.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

PRIVATE = 0o600  # owner only: for files that hold a token


class SetupError(Exception):
    """Bad input, or a file that must not be touched: one line saying which and why."""


def read_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when there is no such file, {} when it is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"cannot read {path}: {exc}") from None
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SetupError(f"{path} is not valid JSON ({exc}); fix it or move it away, "
                         "nothing was changed") from None
    if not isinstance(value, dict):
        raise SetupError(f"{path} holds a JSON {type(value).__name__}, not an object; "
                         "nothing was changed")
    return value


def backup(path: Path, mode: int | None = None) -> Path:
    """Copy `path` beside itself as `<name>.bak-<date>-<time>` (never over an older backup),
    with the same permissions or `mode`, and return the copy's path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    shutil.copy2(path, target)  # copy2 keeps the mode: a private file's backup stays private
    if mode is not None:
        target.chmod(mode)
    return target


def write_object(path: Path, value: dict[str, Any], *, mode: int | None = None) -> None:
    """Replace `path` with `value` as indented JSON. `mode` (e.g. PRIVATE) is applied before
    the content is written, so a token is never readable by others, not even for a moment;
    without it an existing file keeps its mode and a new one gets the usual 0644."""
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` atomically, with permissions `mode`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
