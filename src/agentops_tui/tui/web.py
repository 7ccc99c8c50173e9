"""`agentops web`: the console in a browser.

textual-serve runs one `agentops tui` process per browser tab and relays its screen and
keys through a websocket, so every screen, key and action works as in a terminal. Every tab
talks to the same backend: `--url` (a running `agentops serve`) or, with `--demo`, one demo
backend process started here and shared by all tabs.

textual-serve has no access control of its own. With an access token (`--access-token` or
$AGENTOPS_WEB_TOKEN) every request must carry either `?token=<access token>`, which is
answered with a cookie and a redirect to the same address without the token, or that
cookie; anything else gets a 401 page. The cookie holds a random key made at start-up, never
the token, so restarting `agentops web` signs every browser out. Without an access token
only a loopback address is served, as `agentops serve --no-auth` refuses any other.

Tokens reach the console processes through the environment ($AGENTOPS_TOKEN), not their
command line, so they do not show in process listings.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import secrets
import shlex
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

ACCESS_TOKEN_ENV = "AGENTOPS_WEB_TOKEN"
ACCESS_COOKIE = "agentops_web_access"
REFUSED_PAGE = """<!DOCTYPE html>
<html><head><title>agentops: access token needed</title></head>
<body style="font-family: monospace; background: #0c181f; color: #e0e0e0; padding: 2em">
<h1>Access token needed</h1>
<p>This console asks for its access token once: open this address with
<code>?token=&lt;access token&gt;</code> at the end.</p>
</body></html>
"""


def register(sub: Any) -> None:
    """Add `agentops web` to the command's subparsers."""
    from agentops_tui.cli_types import port

    web = sub.add_parser("web", help="the console in a browser (one console per tab)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=port, default=8788, help="0 picks a free one")
    web.add_argument("--url", help="the backend every tab's console uses (agentops serve)")
    web.add_argument("--token", help="token for --url (default: $AGENTOPS_TOKEN)")
    web.add_argument("--demo", action="store_true",
                     help="a simulated fleet instead of --url, shared by every tab")
    web.add_argument("--access-token",
                     help=f"the token a browser must give once (default: ${ACCESS_TOKEN_ENV}); "
                          "needed to listen on anything but loopback")
    web.add_argument("--read-only", action="store_true", help="hide and refuse actions")
    web.set_defaults(handler=cmd_web)


def access_middleware(access_token: str) -> Any:
    """The check in front of every page, asset and websocket (see the module's text)."""
    from aiohttp import web

    session_key = secrets.token_urlsafe(32)
    expected = access_token.encode()

    @web.middleware
    async def require_access(request: web.Request, handler: Any) -> web.StreamResponse:
        cookie = request.cookies.get(ACCESS_COOKIE, "")
        if hmac.compare_digest(cookie.encode(), session_key.encode()):
            response: web.StreamResponse = await handler(request)
            return response
        given = request.query.get("token")
        if given is not None and hmac.compare_digest(given.encode(), expected):
            query = {k: v for k, v in request.query.items() if k != "token"}
            # the token leaves the address bar and history at once; the cookie stays
            redirect = web.HTTPSeeOther(location=str(request.rel_url.with_query(query)))
            secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
            redirect.set_cookie(ACCESS_COOKIE, session_key, httponly=True, samesite="Strict",
                                secure=secure, path="/")
            return redirect
        return web.Response(status=401, text=REFUSED_PAGE, content_type="text/html")

    return require_access


def console_server(command: str, access_token: str | None) -> Any:
    """The textual-serve server running `command` per tab, behind the access check."""
    from textual_serve.server import Server

    class ConsoleServer(Server):
        async def build(self) -> web.Application:
            app: web.Application = await self._make_app()
            if access_token:
                app.middlewares.append(access_middleware(access_token))
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            # The page names the websocket and assets by absolute address: use the one the
            # browser asked for (a wildcard bind or port 0 has no single address to give).
            # Nothing is awaited before the page is rendered, so tabs cannot interleave. Behind
            # a TLS proxy the page must say wss:, so the proxy's X-Forwarded-Proto counts.
            scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
            scheme = "https" if scheme == "https" else "http"
            self.public_url = f"{scheme}://{request.host}"
            response: web.StreamResponse = await super().handle_index(request)
            return response

        async def on_startup(self, app: web.Application) -> None:
            """Quiet: `agentops web` says where it listens itself."""

    return ConsoleServer(command, title="agentops")


async def serve(server: Any, host: str, port: int) -> None:
    """Listen until SIGINT or SIGTERM; stop every tab's console on the way out."""
    from aiohttp import web

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # An open tab's websocket never finishes by itself: on the way out its handler is
    # cancelled after a moment, which tells that tab's console to quit.
    runner = web.AppRunner(await server.build(), handle_signals=False, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        print(f"agentops web: the console on http://{shown}:{bound} (ctrl+c stops)",
              file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def cmd_web(args: argparse.Namespace) -> int:
    from agentops_tui.cli_types import is_loopback

    from_environment = os.environ.pop(ACCESS_TOKEN_ENV, None)  # not for the tabs' consoles
    access_token = args.access_token or from_environment
    if not access_token and not is_loopback(args.host):
        print(f"agentops web: refusing to listen on {args.host} without an access token; "
              f"give --access-token (or set ${ACCESS_TOKEN_ENV}) or bind 127.0.0.1",
              file=sys.stderr)
        return 2
    if bool(args.url) == bool(args.demo):
        print("agentops web: give --url (a backend: agentops serve) or --demo, not both",
              file=sys.stderr)
        return 2
    if args.url and not args.url.startswith(("http://", "https://")):
        print(f"agentops web: --url must start with http:// or https://, not {args.url!r}",
              file=sys.stderr)
        return 2
    demo = None
    url: str = args.url
    token: str | None
    if args.demo:
        from agentops_tui import paths
        from agentops_tui.demo_process import DemoNotStarted, DemoProcess

        try:
            demo = DemoProcess(12, 7, 1.0, paths.log_file())
            url, token = demo.wait_until_listening()
        except (OSError, DemoNotStarted) as exc:
            print(f"agentops web: {exc}", file=sys.stderr)
            return 2
    else:
        token = args.token or os.environ.get("AGENTOPS_TOKEN")
    if token:
        os.environ["AGENTOPS_TOKEN"] = token  # each tab's console inherits it
    command = [sys.executable, "-m", "agentops_tui", "tui", "--url", url]
    if args.read_only:
        command.append("--read-only")
    try:
        asyncio.run(serve(console_server(shlex.join(command), access_token), args.host,
                          args.port))
    except OSError as exc:
        print(f"agentops web: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    finally:
        if demo is not None:
            demo.stop()
    return 0
