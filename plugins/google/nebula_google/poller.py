"""Poll once, read many: one fetch of Calendar, Gmail and Drive per interval, which the
checks, panels and tools all read."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from nebula_google.apis import GoogleApis
from nebula_google.errors import GoogleError
from nebula_google.tokens import TokenKeeper

SECTIONS = ("events", "unread", "newest", "quota")


@dataclass
class Snapshot:
    at: float = 0.0
    generation: int = -1
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, section: str) -> Any:
        """The section's value, or the GoogleError that kept it from being read."""
        if section in self.errors:
            raise GoogleError(self.errors[section])
        return self.values[section]


class Poller:
    def __init__(self, apis: GoogleApis, keeper: TokenKeeper) -> None:
        self._apis = apis
        self._keeper = keeper
        self._lock = asyncio.Lock()
        self.snapshot = Snapshot()

    async def observe(self, max_age: float) -> Snapshot:
        async with self._lock:
            if (time.time() - self.snapshot.at > max_age
                    or self.snapshot.generation != self._keeper.generation):
                self.snapshot = await self._poll()
            return self.snapshot

    async def _poll(self) -> Snapshot:
        calls = {"events": self._apis.events(), "unread": self._apis.unread_count(),
                 "newest": self._apis.newest_unread(), "quota": self._apis.quota()}
        results = await asyncio.gather(*calls.values(), return_exceptions=True)
        snap = Snapshot(at=time.time(), generation=self._keeper.generation)
        for name, result in zip(calls, results, strict=True):
            if isinstance(result, GoogleError):
                snap.errors[name] = str(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                snap.values[name] = result
        return snap
