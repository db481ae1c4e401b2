"""Telling the dashboard that what it shows has changed: a `homeassistant.states_changed`
event (the plugin's panels refresh on any event the plugin sends), and a
`homeassistant.connection` event when the WebSocket comes or goes.

Home Assistant sends every state change, many of them each second in a busy house (power
meters, signal strengths), and every event is stored: so only changes the panels show
count (an entity shown on the `entities` panel changing what its row shows, an entity
becoming or ceasing to be unavailable/unknown, an automation's row, an entity appearing
or going away), and they are coalesced: the first change is sent at once, those that
follow within `change_window` seconds as one event at the end of it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

from nebula_homeassistant import rows
from nebula_homeassistant.states import State, is_missing

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
LISTED = 50  # entity ids named in one event; `count` has them all


def shown_change(old: State | None, new: State | None, shown: Collection[str],
                 ignore: Iterable[str]) -> str | None:
    """The entity id when this change alters what a panel or check shows, else None."""
    if old is None or new is None:
        return (new or old or {}).get("entity_id")  # the entity count changes
    entity_id = str(new.get("entity_id"))
    patterns = list(ignore)
    if is_missing(old, patterns) != is_missing(new, patterns) or (
            is_missing(new, patterns) and old.get("state") != new.get("state")):
        return entity_id
    if entity_id in shown and rows.entity(old) != rows.entity(new):
        return entity_id
    if entity_id.startswith("automation.") and rows.automation(old) != rows.automation(new):
        return entity_id
    return None


class ChangeFeed:
    def __init__(self, emit: Emit, window: float, log: Any) -> None:
        self.emit, self.window, self.log = emit, window, log
        self.pending: set[str] = set()
        self.connection: dict[str, Any] | None = None   # the WebSocket's news, if any
        self.sent = 0
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def note(self, entity_id: str) -> None:
        self.pending.add(entity_id)
        self._schedule()

    def note_connection(self, state: dict[str, Any]) -> None:
        """The WebSocket came up or went down (the latest news wins within a window)."""
        self.connection = state
        self._schedule()

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._flush(), name="homeassistant.change_feed")

    async def _flush(self) -> None:
        while self.pending or self.connection is not None:
            wait = self._last + self.window - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            ids, self.pending = sorted(self.pending), set()
            connection, self.connection = self.connection, None
            self._last = time.monotonic()
            if connection is not None:
                await self._send("connection", connection)
            if ids:
                await self._send("states_changed", {"entities": ids[:LISTED],
                                                    "count": len(ids)})

    @property
    def sending(self) -> bool:
        """An event is due or being sent."""
        return self._task is not None and not self._task.done()

    async def _send(self, topic: str, data: dict[str, Any]) -> None:
        try:
            await self.emit(topic, data)
            self.sent += 1
        except Exception as exc:  # the dashboard misses one refresh; the states are right
            self.log.warning("homeassistant.event_failed", topic=topic, error=str(exc))

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
