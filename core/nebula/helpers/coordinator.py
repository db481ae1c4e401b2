"""Poll once, read many: one fetch of a service shared by every check, panel and tool.

    self.poll = Coordinator(self._fetch, max_age=15, interval=30, name="plex")
    self.poll.start()                 # optional: refresh in the background every interval
    snapshot = await self.poll.get()  # a value no older than max_age, or the fetch's error
    self.poll.invalidate()            # after an action: the next read fetches again
    await self.poll.aclose()          # the plugin's runtime closes it on stop

A fetch runs once however many readers arrive while it runs (single flight). A failed fetch
is kept (`last_error`) and, while consecutive failures last, the next fetch waits an
exponentially growing backoff during which readers get that error at once instead of
hammering a service that is down. `invalidate()` during a fetch makes that fetch's answer
stale on arrival, and a reader arriving after it waits for a new fetch instead of joining
that one, so a read right after an action never sees the state from before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from nebula.logs import get_logger

T = TypeVar("T")
Clock = Callable[[], float]


class Coordinator(Generic[T]):
    def __init__(self, fetch: Callable[[], Awaitable[T]], *, max_age: float,
                 interval: float | None = None, backoff: float = 1.0,
                 max_backoff: float = 300.0, name: str = "coordinator", log: Any = None,
                 clock: Clock = time.monotonic) -> None:
        self._fetch = fetch
        self.max_age = max_age
        self.interval = interval
        self._backoff = backoff
        self._max_backoff = max_backoff
        self.name = name
        self._log = log or get_logger(coordinator=name)
        self._clock = clock
        self.latest: T | None = None
        self.fetched_at: float | None = None   # clock time of `latest`; None = stale
        self.last_error: BaseException | None = None
        self.failed_at: float | None = None
        self.failures = 0                        # consecutive
        self._generation = 0
        self._flight: asyncio.Future[T] | None = None
        self._flight_generation = 0  # `_generation` when the fetch in flight started
        self._loop_task: asyncio.Task[None] | None = None

    # --- reading -------------------------------------------------------------------------

    def fresh(self, max_age: float | None = None) -> bool:
        age = self.max_age if max_age is None else max_age
        return (self.latest is not None and self.fetched_at is not None
                and self._clock() - self.fetched_at < age)

    async def get(self, max_age: float | None = None) -> T:
        """The latest value if younger than `max_age` (default: the coordinator's), else a
        new fetch (shared with readers already waiting). While failures back off, raises
        the last error without fetching."""
        if self.fresh(max_age):
            assert self.latest is not None
            return self.latest
        if self._flight is None and self.last_error is not None and self._backing_off():
            raise self.last_error
        return await self.refresh()

    async def refresh(self) -> T:
        """Fetch now, or join the fetch already running, unless `invalidate()` came after
        that one started: it may have read the service before the change, so wait for it
        to land and fetch again."""
        while self._flight is not None and self._flight_generation != self._generation:
            with contextlib.suppress(Exception):  # its failure is not this reader's answer
                await asyncio.shield(self._flight)
        if self._flight is None:
            self._flight_generation = self._generation
            self._flight = asyncio.ensure_future(self._run(self._generation))
        # Shielded: a reader that times out or is cancelled leaves the fetch to the others.
        return await asyncio.shield(self._flight)

    def invalidate(self) -> None:
        """The next read fetches again; a fetch running now no longer counts as fresh."""
        self.fetched_at = None
        self._generation += 1

    def retry_in(self) -> float:
        """Seconds until the next fetch is allowed (0 when not backing off)."""
        if self.failed_at is None or self.failures == 0:
            return 0.0
        return max(0.0, self.failed_at + self._delay() - self._clock())

    def _delay(self) -> float:
        return min(self._max_backoff, self._backoff * 2 ** max(0, self.failures - 1))

    def _backing_off(self) -> bool:
        return self.retry_in() > 0

    async def _run(self, generation: int) -> T:
        try:
            value = await self._fetch()
        except Exception as exc:
            self.failures += 1
            self.failed_at = self._clock()
            if self.last_error is None or str(self.last_error) != str(exc):
                self._log.warning("coordinator.fetch_failed", error=f"{type(exc).__name__}: "
                                                                    f"{exc}",
                                  retry_in=round(self._delay(), 1))
            self.last_error = exc
            raise
        finally:
            self._flight = None
        if self.last_error is not None:
            self._log.info("coordinator.recovered", after_failures=self.failures)
        self.latest, self.last_error, self.failures, self.failed_at = value, None, 0, None
        self.fetched_at = self._clock() if generation == self._generation else None
        return value

    # --- background refresh --------------------------------------------------------------

    def start(self) -> None:
        """Refresh every `interval` seconds in the background (each failure waits its
        backoff instead), so readers find a fresh value and events flow without readers."""
        if self.interval is None or self._loop_task is not None:
            return
        self._loop_task = asyncio.create_task(self._loop(), name=f"coordinator:{self.name}")

    async def _loop(self) -> None:
        assert self.interval is not None
        while True:
            with contextlib.suppress(Exception):  # kept in last_error, logged once
                await self.refresh()
            await asyncio.sleep(max(self.retry_in(), self.interval))

    async def aclose(self) -> None:
        task, self._loop_task = self._loop_task, None
        flight, self._flight = self._flight, None
        for pending in (task, flight):
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
