"""The panel's recent notifications, kept in the plugin's store area as a ring of one row
per key (`history.<seq % size>`): recording a notification writes that one row rather than
the whole history, and nothing is read until the history is first needed."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from nebula.api import KeyValue

LEGACY_KEY = "history"  # before the ring: the whole list under one key


def _slot(seq: int, size: int) -> str:
    return f"history.{seq % size}"


class History:
    def __init__(self, kv: KeyValue, size: int) -> None:
        self.kv, self.size = kv, size
        self.rows: deque[dict[str, Any]] = deque(maxlen=size)
        self._next: int | None = None  # the next row's sequence number, once loaded
        self._lock = asyncio.Lock()

    async def _load(self) -> int:
        if self._next is not None:
            return self._next
        legacy = await self.kv.get(LEGACY_KEY)
        if legacy is not None:  # written by an older version: becomes the ring's start
            for seq, row in enumerate(legacy[-self.size:]):
                await self.kv.set(_slot(seq, self.size), {"seq": seq, "row": row})
            await self.kv.delete(LEGACY_KEY)
        found = [await self.kv.get(_slot(slot, self.size)) for slot in range(self.size)]
        kept = sorted((entry for entry in found if entry), key=lambda entry: entry["seq"])
        self.rows.extend(entry["row"] for entry in kept)
        self._next = kept[-1]["seq"] + 1 if kept else 0
        return self._next

    async def append(self, row: dict[str, Any]) -> None:
        async with self._lock:
            seq = await self._load()
            self._next = seq + 1
            self.rows.append(row)
            await self.kv.set(_slot(seq, self.size), {"seq": seq, "row": row})

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        async with self._lock:
            await self._load()
        return list(self.rows)[::-1][:limit]
