"""A console's link to one backend: REST client + fleet state + the stream that feeds it."""

from __future__ import annotations

from collections.abc import Callable

from agentops_tui.client.api import ApiClient
from agentops_tui.client.state import FleetState
from agentops_tui.client.stream import ConnectionStatus, StreamRunner
from agentops_tui.models import Identity


class Connection:
    def __init__(self, url: str, token: str | None, *, profile_name: str = "") -> None:
        self.url = url.rstrip("/")
        self.profile_name = profile_name
        self.api = ApiClient(self.url, token)
        self.state = FleetState()
        self.on_change: Callable[[], None] = lambda: None
        self.on_status: Callable[[ConnectionStatus], None] = lambda status: None
        # who the token is; None until the server says, or when it cannot (an older server):
        # the console then offers every action and the server refuses what the role may not
        self.identity: Identity | None = None
        self.identity_asked = False  # the server answered (an old one may not know)
        self.runner = StreamRunner(self.api, self.state, self._status, self._changed,
                                   self._ask_identity)
        self._closed = False

    @property
    def status(self) -> ConnectionStatus:
        return self.runner.status

    @property
    def role(self) -> str | None:
        return self.identity.role if self.identity is not None else None

    async def _ask_identity(self) -> None:
        """On connect and after each outage: a server restarted meanwhile may know the
        token under another role."""
        self.identity = await self.api.whoami()
        self.identity_asked = True

    def _status(self, status: ConnectionStatus) -> None:
        self.on_status(status)

    def _changed(self) -> None:
        self.on_change()

    async def run(self) -> None:
        """Snapshot, then stay current until `close()`."""
        await self.runner.run()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.runner.stop()
            await self.api.close()
