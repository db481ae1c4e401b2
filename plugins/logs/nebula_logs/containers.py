"""Containers' stdout and stderr through the Docker Engine API (Docker or Podman), read
with aiohttp on the engine's socket: every running container is followed
(`GET /containers/{id}/logs?follow=1&timestamps=1`), a container that starts later is
picked up from the event stream (`GET /events`, type container, event start), and one that
dies or is removed is finished when its log stream ends.

Each line carries the engine's RFC 3339 timestamp; the newest one stored is saved with the
lines (per container id), and a restart asks the engine only for what came after it
(`since=`), skipping lines at or before it, so none is stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from nebula_logs.files import SourceState
from nebula_logs.lines import Line, make_line
from nebula_logs.store import Batch

RETRY = 2.0  # seconds before the event stream is asked again after it failed ...
MAX_RETRY = 30.0  # ... doubling while the engine stays away, up to this
MAX_PENDING = 1 << 20  # bytes of an unfinished line held before it is stored as it is


def connector_for(base_url: str) -> tuple[aiohttp.BaseConnector, str]:
    """An aiohttp connector and the URL prefix for a Docker-style address."""
    if base_url.startswith("unix://"):
        return aiohttp.UnixConnector(path=base_url[len("unix://"):]), "http://engine"
    if base_url.startswith("tcp://"):
        return aiohttp.TCPConnector(), "http://" + base_url[len("tcp://"):]
    return aiohttp.TCPConnector(), base_url.rstrip("/")


def stamp_seconds(stamp: str) -> float:
    """An engine timestamp (RFC 3339 with nanoseconds) as Unix seconds."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    zone = ""
    for sign in ("+", "-"):
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            zone = sign + rest
    base = datetime.fromisoformat(head + (zone or "+00:00")).timestamp()
    return base + (float("0." + frac) if frac else 0.0)


class ContainerLogs:
    def __init__(self, name: str, base_url: str, put: Callable[[Batch], Awaitable[None]],
                 position: Callable[[str], Awaitable[Any]], max_line_bytes: int) -> None:
        self.name = name
        self.base_url = base_url or os.environ.get("DOCKER_HOST", "") or \
            "unix:///var/run/docker.sock"
        self._put = put
        self._position = position
        self.max_line_bytes = max_line_bytes
        self.state = SourceState(name, "docker", self.base_url)
        self.followed: dict[str, asyncio.Task[None]] = {}
        self.names: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._prefix = ""
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        connector, self._prefix = connector_for(self.base_url)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self._main = asyncio.ensure_future(self._run())

    async def aclose(self) -> None:
        tasks = [t for t in (self._main, *self.followed.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self.state.state = "stopped"

    async def _run(self) -> None:
        assert self._session is not None
        retry = RETRY
        while True:
            try:
                # Events first, so a container starting while the list is read is not missed.
                filters = json.dumps({"type": ["container"], "event": ["start"]})
                async with self._session.get(f"{self._prefix}/events",
                                             params={"filters": filters}) as events:
                    events.raise_for_status()
                    async with self._session.get(f"{self._prefix}/containers/json") as listed:
                        listed.raise_for_status()
                        for container in await listed.json():
                            self._follow(container["Id"], container["Names"][0].lstrip("/"))
                    self.state.state, self.state.error = "running", ""
                    retry = RETRY
                    async for raw in events.content:
                        with contextlib.suppress(ValueError, KeyError):
                            event = json.loads(raw)
                            if event.get("status", event.get("Action")) == "start":
                                attrs = event.get("Actor", {}).get("Attributes", {})
                                self._follow(event.get("id") or event["Actor"]["ID"],
                                             attrs.get("name", ""))
                raise ConnectionError("the engine ended its event stream")
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                self.state.state = "error"
                self.state.error = f"engine at {self.base_url}: {type(exc).__name__}: {exc}"
                await asyncio.sleep(retry)
                retry = min(retry * 2, MAX_RETRY)

    def _follow(self, cid: str, name: str) -> None:
        task = self.followed.get(cid)
        if task is not None and not task.done():
            return
        self.followed[cid] = asyncio.ensure_future(self._logs(cid, name))
        self.names[cid] = name

    def live(self) -> list[str]:
        """The containers followed now (a finished one's stream has ended)."""
        return sorted(self.names[c] for c, t in self.followed.items() if not t.done())

    async def _logs(self, cid: str, name: str) -> None:
        assert self._session is not None
        key = f"docker:{cid}"
        saved = await self._position(key) or {"ts": "", "at_ts": 0}
        # Engines stamp lines in seconds or nanoseconds: the resume point is the newest
        # stamp stored and how many lines carried it, so lines sharing a second with the
        # last stored one are neither lost nor stored twice.
        resume, skip = saved["ts"], saved.get("at_ts", 0)
        last, at_last = resume, skip
        try:
            async with self._session.get(f"{self._prefix}/containers/{quote(cid)}/json") as got:
                got.raise_for_status()
                info = await got.json()
            name = name or info.get("Name", "").lstrip("/")
            self.names[cid] = name
            tty = bool(info.get("Config", {}).get("Tty"))
            params = {"follow": "1", "stdout": "1", "stderr": "1", "timestamps": "1"}
            if resume:
                params["since"] = str(int(stamp_seconds(resume)))  # whole seconds: inclusive
            async with self._session.get(f"{self._prefix}/containers/{quote(cid)}/logs",
                                         params=params) as stream:
                stream.raise_for_status()
                demux = Demux(framed=not tty)
                while True:
                    chunk = await stream.content.readany()
                    batch = demux.feed(chunk) if chunk else demux.rest()
                    lines: list[Line] = []
                    for stderr, raw in batch:
                        stamp, _, text = raw.partition(b" ")
                        ts_text = stamp.decode("ascii", "replace")
                        try:
                            ts = stamp_seconds(ts_text)
                        except ValueError:
                            continue
                        if resume and ts < stamp_seconds(resume):
                            continue  # stored before the restart
                        if resume and ts_text == resume and skip:
                            skip -= 1
                            continue
                        lines.append(make_line(text, ts, self.name, self.max_line_bytes,
                                               unit=name, host="stderr" if stderr else ""))
                        at_last = at_last + 1 if ts_text == last else 1
                        last = ts_text
                    if lines:
                        await self._put(Batch(lines, (key, {"ts": last, "at_ts": at_last,
                                                              "name": name})))
                    if not chunk:
                        break  # the container stopped: its stream ended
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            self.state.error = f"container {name}: {type(exc).__name__}: {exc}"


class Demux:
    """Lines of a log stream fed in chunks as they arrive. Without a TTY the engine frames
    each write with an 8-byte header (stream 1 stdout / 2 stderr, 0, 0, 0, size); with
    one the bytes come raw."""

    def __init__(self, framed: bool) -> None:
        self.framed = framed
        self.buffer = b""
        self.pending: dict[int, bytes] = {1: b"", 2: b""}

    def feed(self, chunk: bytes) -> list[tuple[bool, bytes]]:
        self.buffer += chunk
        out: list[tuple[bool, bytes]] = []
        if not self.framed:
            data, self.buffer = self.buffer, b""
            return self._lines(1, data, out)
        while len(self.buffer) >= 8:
            kind, size = self.buffer[0], struct.unpack(">I", self.buffer[4:8])[0]
            if len(self.buffer) < 8 + size:
                break
            data, self.buffer = self.buffer[8:8 + size], self.buffer[8 + size:]
            self._lines(kind if kind in (1, 2) else 1, data, out)
        return out

    def _lines(self, kind: int, data: bytes, out: list[tuple[bool, bytes]]
               ) -> list[tuple[bool, bytes]]:
        *complete, self.pending[kind] = (self.pending[kind] + data).split(b"\n")
        out.extend((kind == 2, raw.rstrip(b"\r")) for raw in complete)
        if len(self.pending[kind]) > MAX_PENDING:  # no newline in sight: out it goes, cut
            out.append((kind == 2, self.pending[kind]))
            self.pending[kind] = b""
        return out

    def rest(self) -> list[tuple[bool, bytes]]:
        left = [(kind == 2, raw) for kind, raw in self.pending.items() if raw]
        self.pending = {1: b"", 2: b""}
        return left
