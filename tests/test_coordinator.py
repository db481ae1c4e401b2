"""nebula.helpers.coordinator: one fetch for many readers, on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from nebula.helpers.coordinator import Coordinator
from tests.waiting import eventually


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Service:
    def __init__(self) -> None:
        self.calls = 0
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def fetch(self) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.calls


async def test_readers_arriving_during_a_fetch_share_it():
    service, clock = Service(), Clock()
    service.gate = asyncio.Event()
    poll = Coordinator(service.fetch, max_age=10, clock=clock)
    readers = [asyncio.ensure_future(poll.get()) for _ in range(20)]
    await eventually(lambda: service.calls == 1)
    service.gate.set()
    assert await asyncio.gather(*readers) == [1] * 20
    assert service.calls == 1


async def test_a_value_is_reused_within_max_age_and_fetched_again_after():
    service, clock = Service(), Clock()
    poll = Coordinator(service.fetch, max_age=10, clock=clock)
    assert await poll.get() == 1
    clock.now += 9.9
    assert await poll.get() == 1
    assert await poll.get(max_age=5) == 2  # a reader may ask for fresher
    clock.now += 10
    assert await poll.get() == 3


async def test_invalidate_during_a_fetch_makes_its_answer_stale():
    service, clock = Service(), Clock()
    service.gate = asyncio.Event()
    poll = Coordinator(service.fetch, max_age=10, clock=clock)
    before = asyncio.ensure_future(poll.get())
    await eventually(lambda: service.calls == 1)
    poll.invalidate()  # an action changed the service while the poll was out
    service.gate.set()
    assert await before == 1
    service.gate = None
    assert await poll.get() == 2


async def test_failures_back_off_and_readers_get_the_error_meanwhile():
    service, clock = Service(), Clock()
    poll = Coordinator(service.fetch, max_age=10, backoff=2, max_backoff=8, clock=clock)
    service.fail = ConnectionError("refused")
    for expected_delay in (2, 4, 8, 8):
        with pytest.raises(ConnectionError):
            await poll.get()
        calls = service.calls
        with pytest.raises(ConnectionError):
            await poll.get()  # still backing off: no new fetch
        assert service.calls == calls
        assert poll.retry_in() == expected_delay
        clock.now += expected_delay
    assert poll.failures == 4 and str(poll.last_error) == "refused"
    service.fail = None
    assert await poll.get() == 5
    assert (poll.failures, poll.last_error, poll.retry_in()) == (0, None, 0.0)


async def test_background_refresh_runs_without_readers_and_stops_on_close():
    service = Service()
    poll = Coordinator(service.fetch, max_age=10, interval=0.01)
    poll.start()
    await eventually(lambda: service.calls >= 3)
    task = poll._loop_task
    await poll.aclose()
    assert task is not None and task.cancelled()


async def test_a_reader_arriving_after_invalidate_does_not_join_the_stale_fetch():
    service, clock = Service(), Clock()
    service.gate = asyncio.Event()
    poll = Coordinator(service.fetch, max_age=10, clock=clock)
    before = asyncio.ensure_future(poll.get())
    await eventually(lambda: service.calls == 1)
    poll.invalidate()  # the action is done; the poll that read the service before it is out
    after = [asyncio.ensure_future(poll.get()) for _ in range(3)]
    await asyncio.sleep(0)
    service.gate.set()
    assert await before == 1
    # Readers that came after the action wait for one fetch started after it.
    assert await asyncio.gather(*after) == [2, 2, 2]
    assert service.calls == 2
