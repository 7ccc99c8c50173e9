"""`agentops connect openclaw`: a long-running bridge from an OpenClaw gateway."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any


def cmd_connect_openclaw(args: argparse.Namespace) -> int:
    from agentops_tui.server.connectors.openclaw import OpenClawBridge

    url = args.url or os.environ.get("AGENTOPS_URL")
    token = args.token or os.environ.get("AGENTOPS_TOKEN")
    gateway_token = args.gateway_token or os.environ.get("OPENCLAW_GATEWAY_TOKEN")
    problems = [text for missing, text in (
        (not url, "give --url (or set AGENTOPS_URL)"),
        (not gateway_token, "give --gateway-token (or set OPENCLAW_GATEWAY_TOKEN)"),
        (not args.gateway.startswith(("ws://", "wss://")),
         f"--gateway must be a ws:// or wss:// URL, not {args.gateway!r}"),
    ) if missing]
    if problems:
        print(f"agentops connect openclaw: {'; '.join(problems)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore", "websockets"):  # every request is not news
        logging.getLogger(chatty).setLevel(logging.WARNING)
    assert url is not None and gateway_token is not None
    refused = _refused_by_backend(url, token)
    if refused:
        print(f"agentops connect openclaw: {refused}", file=sys.stderr)
        return 2
    bridge = OpenClawBridge(args.gateway, gateway_token, url, token, prefix=args.prefix)
    print(f"bridging OpenClaw gateway {args.gateway} to {url} (Ctrl-C stops)", file=sys.stderr)
    try:
        asyncio.run(bridge.run())
    except KeyboardInterrupt:
        return 0
    return 0


def _refused_by_backend(url: str, token: str | None) -> str | None:
    """Why the backend will not take this bridge's reports, if it says so now: a wrong token
    would have every report refused. An unreachable backend is not a reason to stop (the
    bridge retries, as every agent does)."""
    import httpx

    from agentops_tui.tls import client_tls

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/agents", headers=headers, timeout=10,
                             params={"limit": 1}, verify=client_tls())
    except httpx.HTTPError:
        return None
    if response.status_code in (401, 403):
        return (f"{url} refused the token (HTTP {response.status_code}); give an operator "
                "token with --token or $AGENTOPS_TOKEN")
    return None


def add_connect_parser(sub: Any) -> None:
    """Register `agentops connect …` on the main parser's subcommands."""
    connect = sub.add_parser("connect", help="bridge an external agent runtime (OpenClaw)")
    runtimes = connect.add_subparsers(dest="runtime", required=True)
    openclaw = runtimes.add_parser(
        "openclaw", help="watch and act on an OpenClaw gateway's sessions",
        description="Report an OpenClaw gateway's agents, sessions, messages and tokens to "
                    "agentops and carry out the operator's inject, redirect and kill. Runs "
                    "until stopped; reconnects when the gateway goes away.")
    openclaw.add_argument("--gateway", default="ws://127.0.0.1:18789",
                          help="the gateway's WebSocket URL (default: %(default)s)")
    openclaw.add_argument("--gateway-token",
                          help="the gateway's auth token (default: $OPENCLAW_GATEWAY_TOKEN)")
    openclaw.add_argument("--url", help="the agentops backend (default: $AGENTOPS_URL)")
    openclaw.add_argument("--token", help="an operator token (default: $AGENTOPS_TOKEN)")
    openclaw.add_argument("--prefix", default="openclaw",
                          help="agent and session ids start with this (one per gateway)")
    openclaw.add_argument("--log-level", choices=("error", "warning", "info", "debug"),
                          default="info")
    openclaw.set_defaults(handler=cmd_connect_openclaw)
