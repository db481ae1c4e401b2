"""What one start of the plugin shares between its hooks: the engine connection, the
monitor that watches it, the database deployments and a cached disk-use reading."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import docker
from aiohttp import web
from docker.errors import APIError

from nebula.api import PluginContext, StreamRedactor
from nebula_docker import storage
from nebula_docker.databases import Databases
from nebula_docker.engine import Engine, EngineUnavailable
from nebula_docker.monitor import Monitor, Snapshot
from nebula_docker.operations import ContainerNotFound

T = TypeVar("T")


class EngineError(Exception):
    """The engine refused a request; the message carries its explanation."""


class Runtime:
    def __init__(self, ctx: PluginContext) -> None:
        config = ctx.config
        self.ctx = ctx
        self.engine = Engine(config["base_url"], config["timeout"])
        self.monitor = Monitor(self.engine, ctx.emit, max_age=config["interval"] / 2,
                               history=config["stats_history"], log=ctx.log)
        self.databases = Databases(ctx, self.engine)
        self._df: tuple[float, dict[str, int]] | None = None
        self._df_lock = asyncio.Lock()

    async def start(self) -> None:
        await self.databases.remember_secrets()
        self.monitor.start()

    async def stop(self) -> None:
        await self.monitor.stop()
        await asyncio.to_thread(self.engine.close)

    def redact_log(self, data: bytes) -> bytes:
        """Container output on its way out: every secret the agent knows (config, the
        secret store, values plugins registered), then this plugin's database passwords."""
        text = self.ctx.redact(data.decode("utf-8", "surrogateescape"))
        return self.databases.mask(text.encode("utf-8", "surrogateescape"))

    def log_stream(self) -> LogStream:
        return LogStream(self.databases.mask)

    async def call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        """An engine call for an action: the engine's refusals become one clear line."""
        try:
            return await self.engine.call(fn)
        except APIError as exc:
            raise EngineError(f"the engine refused: {exc.explanation or exc}") from None

    async def http_call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        """An engine call for a route: errors become HTTP answers."""
        try:
            return await self.call(fn)
        except ContainerNotFound as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        except EngineUnavailable as exc:
            raise web.HTTPServiceUnavailable(text=str(exc)) from None

    async def snapshot_or_http_error(self) -> Snapshot:
        try:
            return await self.monitor.snapshot()
        except EngineUnavailable as exc:
            raise web.HTTPServiceUnavailable(text=str(exc)) from None

    async def disk(self, max_age: float | None = None) -> dict[str, int]:
        """`df` is slow on a big Docker host (it sizes every layer), so one reading serves
        a whole check interval."""
        max_age = self.ctx.config["interval"] / 2 if max_age is None else max_age
        async with self._df_lock:
            if self._df is None or time.monotonic() - self._df[0] >= max_age:
                df = await self.call(lambda c: c.api.df())
                self._df = (time.monotonic(), storage.usage(df))
            return self._df[1]

    async def version(self) -> dict[str, Any]:
        return await self.engine.call(lambda c: c.version())


class LogStream:
    """`redact_log` for a stream cut into chunks anywhere: the agent's StreamRedactor holds
    back a partial line, so a secret split across two chunks is still caught."""

    def __init__(self, mask: Callable[[bytes], bytes]) -> None:
        self._redactor = StreamRedactor()
        self._mask = mask

    def feed(self, chunk: bytes) -> bytes:
        return self._mask(self._redactor.feed(chunk))

    def flush(self) -> bytes:
        return self._mask(self._redactor.flush())
