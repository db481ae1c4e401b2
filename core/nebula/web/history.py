"""Recent results per check for the overview's sparklines, kept in memory.

The first render reads the store once; later renders read only the rows written since
(by id), so a page with hundreds of tiles does not parse thousands of rows each time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from nebula.health import HealthEngine
    from nebula.store import Store

POINTS = 20
SECONDS = 6 * 3600
Point = tuple[str, "float | None"]


class Sparklines:
    def __init__(self, store: Store, health: HealthEngine) -> None:
        self._store = store
        self._health = health
        self._last_id = 0
        self._points: dict[str, deque[Point]] = {}
        # Two renders at once must not both append the same new rows.
        self._lock = asyncio.Lock()

    async def recent(self) -> dict[str, deque[Point]]:
        async with self._lock:
            await self._update()
        return self._points

    async def _update(self) -> None:
        await self._health.flush()
        if self._last_id == 0:
            rows = await self._store.fetchall(
                "SELECT id, check_name, status, metrics FROM (SELECT id, check_name, status, "
                "metrics, row_number() OVER (PARTITION BY check_name ORDER BY id DESC) AS n "
                "FROM check_results WHERE ts > ?) AS latest WHERE n <= ? ORDER BY id",
                (time.time() - SECONDS, POINTS))
        else:
            rows = await self._store.fetchall(
                "SELECT id, check_name, status, metrics FROM check_results WHERE id > ? "
                "ORDER BY id", (self._last_id,))
        for row in rows:
            metrics = json.loads(row["metrics"])
            first = next(iter(metrics.values()), None) if metrics else None
            points = self._points.setdefault(row["check_name"], deque(maxlen=POINTS))
            points.append((row["status"], first))
            self._last_id = max(self._last_id, row["id"])


SPARKLINES: web.AppKey[Sparklines] = web.AppKey("sparklines")
