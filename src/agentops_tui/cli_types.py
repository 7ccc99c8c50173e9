"""Argument types for the command line: a value out of range is refused by argparse, which
names the option and exits with status 2, before anything starts."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from collections.abc import Callable

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An integer from `low` to `high`, inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}–{high}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def positive_number(text: str) -> float:
    """A finite number above zero (seconds, days, a speed-up)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number above zero")
    return value


def non_negative_number(text: str) -> float:
    """A finite number, zero or above (where 0 means "no limit")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number, zero or above")
    return value


port = whole_number(0, 65535)
agent_count = whole_number(1, 1000)


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (a bind that needs no access token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except (OSError, ValueError):
            return False
