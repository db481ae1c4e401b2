"""The engine's event stream (`GET /events`), followed on the event loop.

The docker SDK reads the stream in a blocking thread that only a close from another thread
ends, and only once the answer's headers are in: a stop that came while the stream was
still connecting found nothing to close and waited for the thread until the core gave up
(issue 15: every one-shot CLI command took ~6 s longer with the plugin configured). Here
the stream is an asyncio task reading over aiohttp, so cancelling it ends it at once,
whatever it waits for: a connect, the headers, or the next event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
from docker.utils import convert_filters

from nebula.helpers.net import reason

MAX_BACKOFF = 30.0
# Only container events: the plugin keeps no image, volume or network state.
FILTERS = {"type": ["container"]}


class Handler(Protocol):
    async def on_connected(self) -> None: ...

    async def on_lost(self, why: str) -> None: ...

    async def on_event(self, event: Mapping[str, Any]) -> None: ...


class Unsupported(Exception):
    """An engine address the stream cannot follow (ssh://, npipe://)."""


def endpoint(base_url: str) -> tuple[str, str | None]:
    """The events URL for an engine address the SDK takes, and the unix socket's path
    (None over TCP)."""
    scheme, _, rest = base_url.partition("://")
    if scheme in ("unix", "http+unix"):
        return "http://engine/events", rest  # unix:///run/x.sock: the path is /run/x.sock
    if scheme in ("tcp", "http", "https"):
        netloc = rest.split("/", 1)[0]
        if ":" not in netloc.rsplit("]", 1)[-1]:  # no port: the engine's default
            netloc += ":2376" if scheme == "https" else ":2375"
        return f"{'https' if scheme == 'https' else 'http'}://{netloc}/events", None
    raise Unsupported(f"no event stream over {scheme}:// (the containers are listed "
                      "again at every reading instead)")


def why(exc: BaseException) -> str:
    """A lost stream in words ("no such file or directory", "connection refused")."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return reason(exc.os_error)
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"the engine answered HTTP {exc.status} {exc.message}".rstrip()
    return reason(exc)


class EventStream:
    """Follows the engine's container events and hands each to `handler`, reconnecting
    with backoff; `aclose()` ends it at once."""

    def __init__(self, base_url: str, handler: Handler, *, connect_timeout: float,
                 log: Any = None) -> None:
        self.base_url = base_url
        self._handler = handler
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
        self._log = log
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="nebula-docker-events")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        try:
            url, socket_path = endpoint(self.base_url)
        except Unsupported as exc:
            await self._handler.on_lost(f"engine at {self.base_url}: {exc}")
            return
        connector = (aiohttp.UnixConnector(path=socket_path) if socket_path is not None
                     else aiohttp.TCPConnector())
        backoff = 1.0
        async with aiohttp.ClientSession(connector=connector, timeout=self._timeout) as http:
            while True:
                try:
                    async with http.get(url, params={"filters": convert_filters(FILTERS)},
                                        raise_for_status=True) as answer:
                        await self._handler.on_connected()
                        backoff = 1.0
                        await self._read(answer)
                    lost = "the engine closed the event stream"
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
                    # ValueError: a line past aiohttp's limit, or an answer that is not HTTP
                    lost = f"engine at {self.base_url} unreachable: {why(exc)}"
                await self._handler.on_lost(lost)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _read(self, answer: aiohttp.ClientResponse) -> None:
        # One JSON object per line, on Docker and on Podman.
        async for line in answer.content:
            if not line.strip():
                continue
            try:
                await self._handler.on_event(json.loads(line))
            except Exception as exc:  # one bad event must not end the stream
                if self._log is not None:
                    self._log.warning("docker.event_failed",
                                      error=f"{type(exc).__name__}: {exc}")
