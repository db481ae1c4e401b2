"""What the logs plugin does while nothing happens: its file thread looks at idle files every
`idle_poll_interval` (not ten times a second) unless a live tail watches, its writer sleeps
until the next retention pass, and an absent container engine is asked less and less often.
bench/footprint.py measures what this saves (wakeups of an idle agent)."""

from __future__ import annotations

import asyncio
import queue
import threading
from pathlib import Path
from typing import Any

import pytest

from nebula_logs import containers
from nebula_logs.containers import ContainerLogs
from nebula_logs.files import FileFollower, FileSpec
from nebula_logs.lines import make_line
from nebula_logs.store import RETENTION_EVERY, Batch, LogStore
from tests.waiting import eventually, wait_for


class RecordingEvent(threading.Event):
    """A threading.Event that remembers each timeout it was waited with."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return super().wait(timeout)


def test_idle_files_are_looked_at_slowly_until_a_tail_watches(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("first\n")
    store = LogStore(tmp_path / "logs.db")
    store.open()
    follower = FileFollower([FileSpec("app", str(log))], store.submit, store.position,
                            max_line_bytes=4096, interval=0.02, idle_interval=30)
    nudge = follower._nudge = RecordingEvent()
    follower.start()
    try:
        # Nobody tails: the thread waits the idle interval between two looks.
        wait_for(lambda: 30 in nudge.timeouts)
        assert 0.02 not in nudge.timeouts
        with follower.watching():
            # The 30 s wait ends at once, and a line is picked up at the tail's pace.
            with log.open("a") as out:
                out.write("second\n")
            wait_for(lambda: nudge.timeouts.count(0.02) >= 3, timeout=5)
            wait_for(lambda: store.last_id() == 2, timeout=5)
        done = len(nudge.timeouts)
        wait_for(lambda: 30 in nudge.timeouts[done:], timeout=5)
    finally:
        follower.stop()
        store.close()


def test_the_writer_sleeps_until_the_next_retention_pass(tmp_path: Path) -> None:
    timeouts: list[float | None] = []

    class RecordingQueue(queue.Queue[Any]):
        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            timeouts.append(timeout)
            return super().get(block, timeout)

    store = LogStore(tmp_path / "logs.db")
    store._queue = RecordingQueue()
    store.open()
    try:
        # After the first retention pass (at start) nothing is due for RETENTION_EVERY s.
        wait_for(lambda: any(t is not None and t > RETENTION_EVERY - 5 for t in timeouts))
        assert all(t is None or t > 1 for t in timeouts[1:]), timeouts
        # A line still goes in at once.
        assert store.offer(Batch([make_line("hello", 1.0, "app", 4096)]))
        wait_for(lambda: store.last_id() == 1, timeout=5)
    finally:
        store.close()


async def test_an_absent_engine_is_asked_less_and_less_often(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any) -> Any:
        if delay >= 1:  # the source's retries (asyncio.sleep is patched for every caller)
            waits.append(delay)
            delay = 0
        return await real_sleep(delay)

    async def put(batch: Batch) -> None:
        raise AssertionError("no engine, no lines")

    async def position(key: str) -> Any:
        return None

    monkeypatch.setattr(containers.asyncio, "sleep", recorded)
    source = ContainerLogs("containers", f"unix://{tmp_path / 'absent.sock'}", put, position,
                           4096)
    source.start()
    try:
        await eventually(lambda: len(waits) >= 7, timeout=10)
    finally:
        monkeypatch.undo()
        await source.aclose()
    assert waits[:7] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert "absent.sock" in source.state.error
