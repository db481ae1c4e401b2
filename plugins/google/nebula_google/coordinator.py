"""Poll once, read many: one fetch of Calendar, Gmail and Drive per interval, which the
checks, panels and tools all read."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from nebula.helpers.coordinator import Coordinator
from nebula_google.apis import GoogleApis
from nebula_google.errors import GoogleError
from nebula_google.tokens import TokenKeeper


@dataclass
class Snapshot:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, section: str) -> Any:
        """The section's value, or the GoogleError that kept it from being read."""
        if section in self.errors:
            raise GoogleError(self.errors[section])
        return self.values[section]


class GooglePoll:
    """The four sections read together. A section Google refused is kept as its error in
    the snapshot (the others still show); only an unexpected failure fails the fetch."""

    def __init__(self, apis: GoogleApis, keeper: TokenKeeper, max_age: float,
                 log: Any = None) -> None:
        self._apis = apis
        self._keeper = keeper
        self._generation = keeper.generation
        self.coordinator: Coordinator[Snapshot] = Coordinator(
            self._fetch, max_age=max_age, name="google", log=log)

    async def snapshot(self) -> Snapshot:
        """A snapshot no older than the poll interval."""
        self._follow_consent()
        return await self.coordinator.get()

    async def refresh(self) -> Snapshot:
        """Poll now (or join the poll already running)."""
        self._follow_consent()
        return await self.coordinator.refresh()

    def _follow_consent(self) -> None:
        # A new consent or a disconnect bumps the keeper's generation: what was read
        # before belongs to another account, or to none.
        if self._generation != self._keeper.generation:
            self._generation = self._keeper.generation
            self.coordinator.invalidate()

    async def _fetch(self) -> Snapshot:
        calls = {"events": self._apis.events(), "unread": self._apis.unread_count(),
                 "newest": self._apis.newest_unread(), "quota": self._apis.quota()}
        results = await asyncio.gather(*calls.values(), return_exceptions=True)
        snap = Snapshot()
        for name, result in zip(calls, results, strict=True):
            if isinstance(result, GoogleError):
                snap.errors[name] = str(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                snap.values[name] = result
        return snap

    async def aclose(self) -> None:
        await self.coordinator.aclose()
