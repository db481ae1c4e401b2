"""`check.first_results`: the event that tells the panel checks have their first result.

The core publishes `check.changed` only when a known state moves, so a check's first
result (a fresh start, a plugin just enabled, a slow first run) would leave its tile
reading "not run yet" until a reload. First results arriving close together go out as one
event (a fresh agent runs all its checks at once: one message, not hundreds, and the
recent-events buffer is not flushed by them).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from nebula.health import CheckState

if TYPE_CHECKING:
    from nebula.agent import Agent

TOPIC = "check.first_results"
GATHER = 0.1  # seconds first results are collected for before they go out


class FirstResults:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        # name -> the CheckState seen with a result; a reloaded plugin makes new ones.
        self._seen: dict[str, CheckState] = {}
        self._batch: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Call once the agent has started: states restored from the store are not new."""
        self._seen = {name: cs for name, cs in self._agent.health.checks.items()
                      if cs.state is not None}
        self._agent.health.listeners.append(self._observe)

    def _observe(self, cs: CheckState) -> None:
        name = cs.check.name
        if self._seen.get(name) is cs or cs.state is None:
            return
        self._seen[name] = cs
        self._batch.append({"check": name, "plugin": cs.plugin, "new": cs.state.value,
                            "summary": cs.last.summary if cs.last else "",
                            "maintenance": cs.maintenance,
                            "last_run": cs.last_ts or time.time()})
        if len(self._batch) == 1:
            task = asyncio.get_running_loop().create_task(self._send())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        await asyncio.sleep(GATHER)
        batch, self._batch = self._batch, []
        summary = (f"first result of {batch[0]['check']}" if len(batch) == 1
                   else f"first results of {len(batch)} checks")
        await self._agent.emit(TOPIC, {"checks": batch, "summary": summary}, "core")
