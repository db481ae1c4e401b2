"""The logs plugin's runtime: the store and its writer thread, the sources feeding it, the
wake-up that live tails wait on, and the store's figures (read through one Coordinator, so
the ingest check, the panel and the API share one reading)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula_logs.containers import ContainerLogs
from nebula_logs.files import FileFollower, file_specs
from nebula_logs.journal import JournalSource
from nebula_logs.levels import level_number
from nebula_logs.lines import Line, make_line
from nebula_logs.query import tolerant
from nebula_logs.schema import settings
from nebula_logs.store import Batch, Filters, LogStore
from nebula_logs.syslog import SyslogReceiver

T = TypeVar("T")


class Logs:
    def __init__(self, ctx: PluginContext) -> None:
        self.config = config = settings(ctx.config)
        self.ctx = ctx
        self.loop = asyncio.get_running_loop()
        folder = ctx.data_dir if ctx.data_dir is not None else Path(".nebula-logs")
        self.store = LogStore(folder / "logs.db", queue_lines=config["queue_lines"],
                              batch_lines=config["batch_lines"],
                              max_age_days=config["max_age_days"],
                              max_bytes=int(config["max_size_mb"] * 1_000_000),
                              query_seconds=config["query_seconds"],
                              on_commit=self._committed)
        self.follower = FileFollower(file_specs(config["files"]), self.store.submit,
                                     self.store.position,
                                     max_line_bytes=config["max_line_bytes"],
                                     interval=config["poll_interval"],
                                     idle_interval=config["idle_poll_interval"])
        syslog = config["syslog"]
        self.syslog: SyslogReceiver | None = None
        if syslog["enabled"]:
            self.syslog = SyslogReceiver(
                syslog["name"], syslog["host"], syslog["udp_port"], syslog["tcp_port"],
                self.store.offer, lambda: self.store.queued_lines < self.store.queue_capacity,
                config["max_line_bytes"])
        containers = config["containers"]
        self.containers: ContainerLogs | None = None
        if containers["enabled"]:
            docker = ctx.peer_config("docker") or {}
            self.containers = ContainerLogs(
                containers["name"], containers["base_url"] or docker.get("base_url", ""),
                self.put, self._position, config["max_line_bytes"])
        self.journal: JournalSource | None = None
        if config["journal"]["enabled"]:
            self.journal = JournalSource(config["journal"], self.put, self._position,
                                         config["max_line_bytes"])
        self.last_id = 0
        self._wake = asyncio.Event()
        self.figures: Coordinator[dict[str, Any]] = Coordinator(
            self._figures, max_age=2.0, name="logs", log=ctx.log)

    @classmethod
    async def start(cls, ctx: PluginContext) -> Logs:
        self = cls(ctx)
        await asyncio.to_thread(self.store.open)
        self.last_id = await asyncio.to_thread(self.store.last_id)
        self.follower.start()
        if self.syslog is not None:
            await self.syslog.start()
        if self.containers is not None:
            self.containers.start()
        if self.journal is not None:
            self.journal.start()
        return self

    async def aclose(self) -> None:
        if self.syslog is not None:
            await self.syslog.aclose()
        if self.containers is not None:
            await self.containers.aclose()
        if self.journal is not None:
            await self.journal.aclose()
        await asyncio.to_thread(self.follower.stop)
        await asyncio.to_thread(self.store.close)
        await self.figures.aclose()
        self._wake.set()

    async def put(self, batch: Batch) -> None:
        """For a source on the loop that can wait (a container's stream): queue `batch`,
        waiting while the queue is full (the engine holds the rest meanwhile), counted."""
        if self.store.offer(batch, refusal_counts=False):
            return
        counters = self.store.counters
        counters.waits += 1
        started = time.monotonic()
        while not self.store.offer(batch, refusal_counts=False):
            await self.wait_beyond(self.last_id, 1.0)  # a commit makes room
        counters.waited_seconds += time.monotonic() - started

    async def plugin_log(self, event: Mapping[str, Any]) -> None:
        """A `<plugin>.log` event (`ctx.emit("log", {"message", "level", "unit"})`): how a
        plugin contributes lines of its own; stored under the plugin's name as source."""
        data = event.get("data") or {}
        message = data.get("message")
        if not isinstance(message, str) or not message:
            return
        try:
            level = level_number(str(data["level"])) if data.get("level") else None
        except ValueError:
            level = None
        line = make_line(message, float(event.get("ts") or time.time()),
                         str(event.get("source", "plugin")), self.config["max_line_bytes"],
                         level=level, unit=str(data.get("unit", "")))
        await self.put(Batch([line]))

    async def _position(self, key: str) -> Any:
        return await asyncio.to_thread(self.store.position, key)

    # --- commits, for live tails ----------------------------------------------------------

    def _committed(self, committed: list[tuple[int, Line]]) -> None:
        """In the writer thread, after each commit: wake the tails on the loop."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self.loop.call_soon_threadsafe(self._advance, committed[-1][0])

    def _advance(self, last_id: int) -> None:
        self.last_id = max(self.last_id, last_id)
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    async def wait_beyond(self, after: int, timeout: float) -> None:
        """Return once a line past `after` is committed, or after `timeout` seconds."""
        if self.last_id > after:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # --- reading ------------------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def search(self, filters: Filters, limit: int, before: int | None = None,
                     after: int | None = None) -> tuple[list[dict[str, Any]], str]:
        return await asyncio.to_thread(
            tolerant, lambda f: self.store.search(f, limit, before, after), filters)

    async def histogram(self, filters: Filters, buckets: int) -> tuple[dict[str, Any], str]:
        return await asyncio.to_thread(
            tolerant, lambda f: self.store.histogram(f, buckets), filters)

    def source_names(self) -> list[str]:
        names = [spec.name for spec in self.follower.specs]
        return (names + ([self.syslog.name] if self.syslog else [])
                + ([self.containers.name] if self.containers else [])
                + ([self.journal.name] if self.journal else []))

    def sources(self) -> list[dict[str, Any]]:
        states = [state.as_dict() for state in self.follower.states.values()]
        if self.syslog is not None:
            states.append({**self.syslog.state.as_dict(), "tcp_pauses": self.syslog.pauses})
        if self.containers is not None:
            self.containers.state.files = self.containers.live()
            states.append(self.containers.state.as_dict())
        if self.journal is not None:
            states.append(self.journal.state.as_dict())
        for state in states:
            state["lines"] = self.store.counters.by_source.get(state["name"], 0)
        return states

    async def _figures(self) -> dict[str, Any]:
        stats = await asyncio.to_thread(self.store.stats)
        c = self.store.counters
        return {**stats, "received": c.received, "committed": c.committed,
                "batches": c.batches, "queued": self.store.queued_lines,
                "queue_capacity": self.store.queue_capacity, "refused": c.refused,
                "waits": c.waits, "waited_seconds": round(c.waited_seconds, 3),
                "retention_deleted": c.retention_deleted,
                "last_commit_ms": round(c.last_commit_ms, 2), "errors": c.errors,
                "last_error": c.last_error, "at": time.time()}

    async def rule_hits(self, pattern: str, window: float, sources: Sequence[str]
                        ) -> tuple[int, list[dict[str, Any]]]:
        since = time.time() - window
        (count, lines), _ = await asyncio.to_thread(
            tolerant, lambda f: self.store.count_since(f.q, since, sources, 5),
            Filters(pattern))
        return count, lines
