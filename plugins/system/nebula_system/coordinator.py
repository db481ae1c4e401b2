"""One reading of the host at a time, shared by every check, panel and tool: the plugin's
runtime.

"Poll once, read many": a reading is reused while it is younger than half the check
interval, so the checks that fire together and a dashboard polling the panels cost one set
of psutil calls. The sampler has no loop of its own (the plugin is on by default, so its
idle cost is every host's): a reading is taken only when something reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from nebula.helpers.coordinator import Coordinator
from nebula_system.host import Filters, HostReader
from nebula_system.readings import Point, Sample

HISTORY = 120


class Sampler:
    def __init__(self, max_age: float, filters: Filters | None = None,
                 history: int = HISTORY, log: Any = None) -> None:
        self._host = HostReader(filters)
        self._size = history
        # Replaced, never mutated, so a reader never sees half an update.
        self._history: tuple[Point, ...] = ()
        self.poll: Coordinator[Sample] = Coordinator(self._take, max_age=max_age,
                                                     name="system", log=log)
        self.closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], log: Any = None) -> Sampler:
        # Half the check interval: the checks of one round share a reading, the next round
        # gets a new one even when the scheduler fires a little early.
        return cls(max_age=float(config["interval"]) / 2,
                   filters=Filters.from_config(config), log=log)

    @property
    def latest(self) -> Sample | None:
        return self.poll.latest

    @property
    def history_size(self) -> int:
        return self._size

    def history(self) -> list[Point]:
        return list(self._history)

    async def read(self) -> Sample:
        """A reading no older than the poll's `max_age`, taking a new one if needed."""
        if self.closed:
            # A panel or tool call racing the plugin's stop must not start a psutil thread
            # for a runtime that is gone.
            raise RuntimeError("the system plugin has stopped")
        return await self.poll.get()

    async def _take(self) -> Sample:
        sample = await asyncio.to_thread(self._host.read)
        point = Point(sample.taken, sample.cpu_percent, sample.memory.percent)
        self._history = (*self._history[-(self._size - 1):], point)
        return sample

    async def aclose(self) -> None:
        self.closed = True
        await self.poll.aclose()
