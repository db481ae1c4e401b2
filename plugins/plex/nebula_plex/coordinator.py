"""The plugin's runtime: one poll of the server at a time, shared by every check, panel and
tool, on `nebula.helpers.coordinator.Coordinator`.

"Poll once, read many": a snapshot is reused while younger than `max_age`, and callers that
arrive during a poll wait for it instead of starting their own, so the checks that fire
together and a dashboard polling the panels cost one round of requests. Each complete poll
is compared with the one before to publish `plex.session_started` / `plex.session_ended`.

An action that changes what the server shows calls `invalidate()`: the next read polls again,
and a poll that was already in flight (it may have read the server before the action changed
it) is kept as `latest` but not taken as fresh, nor joined by a read that came after.

A failed poll is a snapshot too (`Snapshot.error`, with what came before the failure), so it
is kept for `max_age` like any other: the checks of one round make one attempt at a server
that is down.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from nebula.helpers.coordinator import Coordinator
from nebula_plex.client import PlexClient, PlexError
from nebula_plex.model import (
    LEAF_TYPES,
    Library,
    Release,
    Server,
    Session,
    Snapshot,
    parse_library,
    recent_item,
)

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Point:
    t: float
    sessions: int
    transcodes: int
    bandwidth_kbps: int


class Poller:
    def __init__(self, client: PlexClient, emit: Emit, *, max_age: float, recent: int,
                 history: int, log: Any, clock: Clock = time.monotonic) -> None:
        self.client = client
        self._emit = emit
        self._recent = recent
        self._log = log
        self.poll: Coordinator[Snapshot] = Coordinator(
            self._poll, max_age=max_age, name="plex", log=log, clock=clock)
        # Sessions of the last complete poll; None until the first one, which is the
        # baseline (streams already running when the agent starts did not just start).
        self._known: dict[str, Session] | None = None
        self.history: deque[Point] = deque(maxlen=history)

    async def snapshot(self, max_age: float | None = None) -> Snapshot:
        return await self.poll.get(max_age)

    def invalidate(self) -> None:
        """The next read polls again (after an action changed what the server shows)."""
        self.poll.invalidate()

    async def aclose(self) -> None:
        """Called by the core when the plugin stops: a poll in flight is cancelled (its
        readers with it) and its connection to the server closed."""
        await self.poll.aclose()

    async def _poll(self) -> Snapshot:
        previous = self.poll.latest
        snap = await self._collect()
        if snap.error and (previous is None or previous.error is None
                           or str(previous.error) != str(snap.error)):
            self._log.warning("plex.poll_failed", failure=snap.error.kind.value,
                              error=str(snap.error))
        elif not snap.error and previous is not None and previous.error:
            self._log.info("plex.poll_recovered", version=snap.version)
        if snap.complete:
            self.history.append(Point(snap.taken, len(snap.sessions), len(snap.transcodes),
                                      sum(s.bandwidth_kbps for s in snap.sessions)))
            await self._publish_changes(snap.sessions)
        return snap

    async def _collect(self) -> Snapshot:
        taken, started = time.time(), time.monotonic()
        try:
            # /identity needs no token: it tells "unreachable" apart from "token rejected".
            identity = await self.client.get("/identity", token=False)
        except PlexError as exc:
            return Snapshot(taken, error=exc)
        latency = round((time.monotonic() - started) * 1000, 1)
        known = Snapshot(taken=taken, latency_ms=latency,
                         version=str(identity.get("version", "")),
                         machine_identifier=str(identity.get("machineIdentifier", "")))
        try:
            server = Server.parse(await self.client.get("/"))
            sessions, libraries, recent, (update, update_error) = await asyncio.gather(
                self.client.get("/status/sessions"), self._libraries(),
                self.client.get("/library/recentlyAdded", {
                    "X-Plex-Container-Start": 0, "X-Plex-Container-Size": self._recent}),
                self._update())
        except PlexError as exc:
            return replace(known, error=exc)
        libs, problems = libraries
        return replace(
            known, server=server,
            sessions=tuple(Session.parse(m) for m in sessions.get("Metadata") or ()),
            libraries=libs,
            recent=tuple(recent_item(m) for m in (recent.get("Metadata") or ())[:self._recent]),
            update=update, update_error=update_error, problems=problems)

    async def _libraries(self) -> tuple[tuple[Library, ...], tuple[str, ...]]:
        sections = (await self.client.get("/library/sections")).get("Directory") or ()
        problems: list[str] = []

        async def count(key: str, kind: int | None = None) -> int | None:
            params: dict[str, Any] = {"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0}
            if kind is not None:
                params["type"] = kind
            try:
                found = await self.client.get(f"/library/sections/{key}/all", params)
            except PlexError as exc:
                # A count the server answered with an error status (other than refusing the
                # token) is that library's problem; anything else fails the poll.
                if exc.status is None or exc.status == 401:
                    raise
                problems.append(str(exc))
                return None
            return _total(found)

        async def one(directory: dict[str, Any]) -> Library:
            key = str(directory.get("key"))
            leaf = LEAF_TYPES.get(str(directory.get("type")))
            items, leaves = await asyncio.gather(
                count(key), count(key, leaf[0]) if leaf else _none())
            return parse_library(directory, items, leaves)

        libs = await asyncio.gather(*(one(d) for d in sections if isinstance(d, dict)))
        return tuple(libs), tuple(problems)

    async def _update(self) -> tuple[Release | None, str | None]:
        try:
            return Release.first(await self.client.get("/updater/status")), None
        except PlexError as exc:
            # Only the owner's token may read the updater; that is no reason to fail a poll.
            if exc.kind.unreachable:
                raise
            return None, str(exc)

    async def _publish_changes(self, sessions: tuple[Session, ...]) -> None:
        now = {s.key: s for s in sessions}
        before, self._known = self._known, now
        if before is None:
            return
        for key in now.keys() - before.keys():
            await self._emit("session_started", now[key].public())
        for key in before.keys() - now.keys():
            await self._emit("session_ended", before[key].public())


def _total(container: dict[str, Any]) -> int | None:
    for key in ("totalSize", "size"):
        try:
            return int(container[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


async def _none() -> None:
    return None
