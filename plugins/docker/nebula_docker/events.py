"""The engine's event stream (`GET /events`), followed on the event loop.

The docker SDK reads the stream in a blocking thread that only a close from another thread
ends, and only once the answer's headers are in: a stop that came while the stream was
still connecting found nothing to close and waited for the thread until the core gave up
(issue 15: every one-shot CLI command took ~6 s longer with the plugin configured). Here
the stream is an asyncio task reading over aiohttp, so cancelling it ends it at once,
whatever it waits for: a connect, the headers, or the next event.

Each event is handed on once, and only if it happened after the stream began (`Seen`).
Podman (file events logger) rotates its events log at `events_logfile_max_size` (1 MB by
default) by keeping the newer half: a stream asked without `since` reopens the new file
from its start and sends all of that half again (issue 15: 1,560 stale events in 13 s,
the restart count 35 -> 73 while Podman counted 47); one asked with `since` ends instead,
and the next one, asked with the same `since`, sends again what came since. So every
request carries `since`, events older than it are dropped here too (an engine may ignore
it), and the events at or after it are told apart by (id, time, action).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp

from nebula.helpers.net import reason

MAX_BACKOFF = 30.0
# Only container events: the plugin keeps no image, volume or network state.
# The Engine API takes filters as a JSON map of lists.
FILTERS = json.dumps({"type": ["container"]})
# A stream the engine ended after this long, or with events in it, is asked again at once.
STEADY = 1.0
# How far back from the newest event the `since` of the next request goes. Podman's
# processes write events with the time they were made, not in that order: one made a
# moment before the newest may still come (seconds late on a loaded host).
SLACK_NS = 60 * 1_000_000_000
# Keys remembered before the oldest are let go (those older than the newest minus SLACK).
REMEMBERED = 4096
# Events waiting to be handled before the backlog is let go (~400 bytes each).
BACKLOG = 10_000


class Handler(Protocol):
    async def on_connected(self) -> None: ...

    async def on_lost(self, why: str) -> None: ...

    async def on_event(self, event: Mapping[str, Any]) -> None: ...

    async def on_missed(self) -> None: ...


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


def event_time_ns(event: Mapping[str, Any]) -> int:
    """When the event happened, in epoch nanoseconds (Docker and Podman send both `time`
    in seconds and `timeNano`); 0 when it says nothing."""
    nano = event.get("timeNano")
    if isinstance(nano, int) and nano > 0:
        return nano
    seconds = event.get("time")
    return int(seconds * 1_000_000_000) if isinstance(seconds, int | float) else 0


class Seen:
    """Which events of a stream that began at `start_ns` were handed on already."""

    def __init__(self, start_ns: int) -> None:
        self.floor = start_ns  # older events are not this stream's
        self._newest = start_ns
        self._keys: dict[tuple[str, int, str], int] = {}

    def first_time(self, event: Mapping[str, Any]) -> bool:
        """True once per event that happened at or after the floor."""
        at = event_time_ns(event)
        if not at:
            return True  # nothing to judge it by
        if at < self.floor:
            return False
        actor = event.get("Actor") or {}
        key = (str(actor.get("ID") or event.get("id") or ""), at,
               str(event.get("Action") or event.get("status") or ""))
        if key in self._keys:
            return False
        self._keys[key] = at
        self._newest = max(self._newest, at)
        if len(self._keys) > REMEMBERED:
            self._raise_floor()
        return True

    def since(self) -> str:
        """`since` for the next request: whole seconds, so an engine that compares them
        strictly, or parses them as a float, still sends every event at the floor."""
        self._raise_floor()
        return str(self.floor // 1_000_000_000)

    def _raise_floor(self) -> None:
        floor = self._newest - SLACK_NS
        if len(self._keys) > REMEMBERED:
            # More events within SLACK than it keeps: the older half goes (at most one
            # pass per REMEMBERED/2 events, however fast they come).
            floor = max(floor, sorted(self._keys.values())[len(self._keys) // 2])
        self.floor = max(self.floor, floor)
        self._keys = {k: at for k, at in self._keys.items() if at >= self.floor}


class EventStream:
    """Follows the engine's container events and hands each to `handler` once, asking
    again at once when the engine ends the stream and with backoff when it cannot be
    reached. The handler hears when the stream is lost and when it is back (not of a
    stream the engine ended and answered again); `aclose()` ends it at once.

    The stream is read as fast as it comes and handled from a queue: an engine whose
    writer waits for a slow reader loses events (Podman's, when it rotates its log before
    the reader got to them), and the handler re-inspects a container per event."""

    def __init__(self, base_url: str, handler: Handler, *, connect_timeout: float,
                 log: Any = None) -> None:
        self.base_url = base_url
        self._handler = handler
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
        self._log = log
        self._queue: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Follows the events from now on (raises Unsupported for an address without a
        stream)."""
        endpoint(self.base_url)
        self._tasks = [asyncio.create_task(self._follow(), name="nebula-docker-events"),
                       asyncio.create_task(self._dispatch(), name="nebula-docker-event-handler")]

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def aclose(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self) -> None:
        url, socket_path = endpoint(self.base_url)
        connector = (aiohttp.UnixConnector(path=socket_path) if socket_path is not None
                     else aiohttp.TCPConnector())
        seen = Seen(time.time_ns())
        up = False
        backoff = 1.0
        async with aiohttp.ClientSession(connector=connector, timeout=self._timeout) as http:
            while True:
                try:
                    params = {"filters": FILTERS, "since": seen.since()}
                    async with http.get(url, params=params, raise_for_status=True) as answer:
                        began = time.monotonic()
                        if not up:
                            up = True
                            await self._handler.on_connected()
                        lines = await self._read(answer, seen)
                    # The engine ended the stream, as Podman does each time it rotates its
                    # events log: asked again at once (with `since`, nothing is missed),
                    # and the engine was there all along. Only one that keeps ending
                    # streams with nothing in them is asked with backoff.
                    if lines or time.monotonic() - began >= STEADY:
                        backoff = 1.0
                        continue
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
                    # ValueError: a line past aiohttp's limit, or an answer that is not HTTP
                    up = False
                    await self._handler.on_lost(
                        f"engine at {self.base_url} unreachable: {why(exc)}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _read(self, answer: aiohttp.ClientResponse, seen: Seen) -> int:
        """Queues each new event of one answer; the number of lines it held."""
        lines = 0
        # One JSON object per line, on Docker and on Podman.
        async for line in answer.content:
            if not line.strip():
                continue
            lines += 1
            try:
                event = json.loads(line)
            except ValueError:
                self._warn("docker.event_unreadable", line=line[:200])
                continue
            if not seen.first_time(event):
                continue
            if self._queue.qsize() >= BACKLOG:
                # Handling fell this far behind: what the queue holds is let go, and the
                # handler told, so that it reads the engine's state afresh instead.
                dropped = self._queue.qsize()
                while not self._queue.empty():
                    self._queue.get_nowait()
                self._warn("docker.events_behind", dropped=dropped)
                await self._handler.on_missed()
            self._queue.put_nowait(event)
        return lines

    async def _dispatch(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._handler.on_event(event)
            except Exception as exc:  # one bad event must not end the stream
                self._warn("docker.event_failed", error=f"{type(exc).__name__}: {exc}")

    def _warn(self, message: str, **fields: Any) -> None:
        if self._log is not None:
            self._log.warning(message, **fields)
