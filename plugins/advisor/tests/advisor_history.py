"""Feeding an agent's history with synthetic series of a known slope, through the history's
own write path (History.plan and Store.batch, as the health engine writes its results)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from nebula.api import Status, Unit
from nebula.history import Record

DAY = 86400.0


async def feed(agent: Any, check: str, metric: str, value: Callable[[float], float], *,
               days: float = 30, step: float = 1800, unit: Unit | None = None,
               noise: float = 0.0, seed: int = 22) -> float:
    """`value(days_ago)` every `step` seconds for `days` up to now (with uniform noise of
    ±`noise` and a spike now and then); returns now."""
    rng = random.Random(seed)
    now = time.time()
    records = []
    ts = now - days * DAY
    while ts <= now:
        v = value((now - ts) / DAY) + rng.uniform(-noise, noise)
        if rng.random() < 0.01:
            v += 10 * noise  # a backup's temporary files, a log burst
        records.append(Record(check, ts, Status.OK, "synthetic", {metric: v},
                              units={metric: unit} if unit else {}, interval=step))
        ts += step
    history = agent.agent.history
    await agent.agent.store.batch(await history.plan(records))
    return now
