"""The plugin's runtime, which `nebula_startup` returns and the core closes on stop: the
engine connection, the monitor and the event stream that keeps it live, the database
deployments and the disk-use reading, shared by every hook."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from nebula.api import PluginContext, StreamRedactor
from nebula.helpers.coordinator import Coordinator
from nebula_docker import logsize, storage
from nebula_docker.coordinator import Monitor, Snapshot
from nebula_docker.databases import Databases
from nebula_docker.engine import Engine, EngineUnavailable
from nebula_docker.events import EventStream, Unsupported
from nebula_docker.operations import ContainerNotFound

if TYPE_CHECKING:
    import docker

T = TypeVar("T")


class EngineError(Exception):
    """The engine refused a request; the message carries its explanation."""


class Runtime:
    def __init__(self, ctx: PluginContext) -> None:
        config = ctx.config
        self.ctx = ctx
        max_age = config["interval"] / 2
        self.engine = Engine(config["base_url"], config["timeout"])
        # The engine check follows the event stream: it runs as soon as the stream drops
        # or comes back, not at its next interval.
        self.monitor = Monitor(self.engine, ctx.emit, max_age=max_age,
                               history=config["stats_history"], log=ctx.log,
                               on_stream_change=lambda: ctx.run_check("engine"))
        self.events = EventStream(self.engine.base_url, self.monitor,
                                  connect_timeout=config["timeout"], log=ctx.log)
        self.databases = Databases(ctx, self.engine)
        # `df` is slow on a big Docker host (it sizes every layer): one reading serves a
        # whole check interval.
        self.df: Coordinator[dict[str, int | None]] = Coordinator(
            self._read_df, max_age=max_age, backoff=max_age, max_backoff=max_age,
            name="docker.df", log=ctx.log)
        # Open log follows: each holds an engine connection until closed.
        self.follows: set[Any] = set()

    @classmethod
    async def start(cls, ctx: PluginContext) -> Runtime:
        """No engine call here: an engine that is down must not fail the plugin, only its
        engine check; the event stream keeps trying to connect in the background."""
        runtime = cls(ctx)
        try:
            await runtime.databases.remember_secrets()
        except BaseException:
            await runtime.aclose()
            raise
        try:
            runtime.events.start()
        except Unsupported as exc:
            runtime.monitor.events_error = f"engine at {runtime.engine.base_url}: {exc}"
        return runtime

    async def aclose(self) -> None:
        """Prompt whatever the engine does: the event stream and any reading under way
        are cancelled, open log follows and the engine client closed; nothing waits for
        the engine to answer."""
        await self.events.aclose()
        await self.monitor.aclose()
        await self.df.aclose()
        for stream in list(self.follows):
            with contextlib.suppress(Exception):
                stream.close()  # shuts its socket down: the relay thread ends
        self.engine.close()

    def redact_log(self, data: bytes) -> bytes:
        """Container output on its way out: every secret the agent knows (config, the
        secret store, values plugins registered), then this plugin's database passwords."""
        text = self.ctx.redact(data.decode("utf-8", "surrogateescape"))
        return self.databases.mask(text.encode("utf-8", "surrogateescape"))

    def log_stream(self) -> LogStream:
        return LogStream(self.databases.mask)

    async def call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        """An engine call for an action: the engine's refusals become one clear line."""

        def explained(client: docker.DockerClient) -> T:
            from docker.errors import APIError  # on a client: the SDK is loaded (engine.py)

            try:
                return fn(client)
            except APIError as exc:
                raise EngineError(f"the engine refused: {exc.explanation or exc}") from None

        return await self.engine.call(explained)

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

    async def disk(self) -> dict[str, int | None]:
        return await self.df.get()

    async def _read_df(self) -> dict[str, int | None]:
        usage: dict[str, int | None] = {
            **storage.usage(await self.call(lambda c: c.api.df())), "logs": None}
        if logsize.local(self.engine.base_url):
            # Measured with every listing; the engine's df does not count them.
            snapshot = await self.monitor.snapshot()
            usage["logs"] = sum(c.log_bytes or 0 for c in snapshot.containers)
        return usage

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
