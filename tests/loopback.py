"""A stand-in's aiohttp application served on a free loopback port, for any test or bench.

    async with serving(standin.app()) as base:      # http://127.0.0.1:<port>
        ...
    async with Server(ha.app, tls=context) as server:  # stop() and start() again: same port
        await server.stop()
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable

from aiohttp import web

# An application, or a factory of them: an application serves only once, so a server that
# restarts needs a new one each time.
App = web.Application | Callable[[], web.Application]


class Server:
    """`app` on 127.0.0.1, plain HTTP or TLS, stoppable and restartable on the same port
    (a service that goes down and comes back)."""

    def __init__(self, app: App, tls: ssl.SSLContext | None = None) -> None:
        self.app, self.tls, self.port = app, tls, 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> str:
        app = self.app if isinstance(self.app, web.Application) else self.app()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls).start()
        self.port = self._runner.addresses[0][1]
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def serving(app: App, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields the base URL."""
    async with Server(app, tls) as server:
        yield server.url
