"""The plugin's runtime: one poll of Sunshine at a time on
`nebula.helpers.coordinator.Coordinator`, shared by checks, panels and actions' prepare steps.

A poll reads /api/config (version, platform; the reachability and credentials test), then
the apps, the paired clients and the end of the log together. The host's readiness (GPU,
uinput, ports) is read in the same poll when Sunshine runs here, whether or not its API
answers: a host without a GPU is worth knowing about while Sunshine is down too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nebula.helpers.coordinator import Coordinator
from nebula_sunshine import logs, readiness
from nebula_sunshine.client import PinMismatch, SunshineClient, SunshineError

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Snapshot:
    taken: float
    latency_ms: float | None = None
    error: SunshineError | None = None
    version: str = ""
    platform: str = ""
    apps: tuple[dict[str, Any], ...] = ()
    clients: tuple[dict[str, Any], ...] = ()
    log: logs.LogSummary = field(default_factory=logs.LogSummary)
    host: readiness.Readiness | None = None


class SunshineRuntime:
    def __init__(self, client: SunshineClient, config: Mapping[str, Any], emit: Emit,
                 log: Any) -> None:
        self.client = client
        self.config = config
        self._emit = emit
        self._log = log
        self.poll: Coordinator[Snapshot] = Coordinator(
            self._poll, max_age=config["interval"] / 2, name="sunshine", log=log)
        self._warned: str | None = None   # the changed fingerprint already warned about

    async def snapshot(self, max_age: float | None = None) -> Snapshot:
        return await self.poll.get(max_age)

    def invalidate(self) -> None:
        self.poll.invalidate()

    async def aclose(self) -> None:
        await self.poll.aclose()

    async def _poll(self) -> Snapshot:
        host_task = asyncio.ensure_future(self._host()) if self.config["local"] else None
        snap = await self._api()
        host = await host_task if host_task is not None else None
        if isinstance(snap.error, PinMismatch) and snap.error.seen != self._warned:
            self._warned = snap.error.seen
            self._log.warning("sunshine.certificate_changed", pinned=snap.error.pinned,
                              seen=snap.error.seen)
            await self._emit("certificate_changed", {"pinned": snap.error.pinned,
                                                     "seen": snap.error.seen})
        return replace(snap, host=host)

    async def _api(self) -> Snapshot:
        taken, started = time.time(), time.monotonic()
        try:
            config = await self.client.get("/api/config")
            latency = round((time.monotonic() - started) * 1000, 1)
            apps, clients, text = await asyncio.gather(
                self.client.get("/api/apps"), self.client.get("/api/clients/list"),
                self.client.text("/api/logs"))
        except SunshineError as exc:
            return Snapshot(taken, error=exc)
        tail = "\n".join(text.splitlines()[-self.config["log_lines"]:])
        return Snapshot(
            taken, latency, version=str(config.get("version", "")),
            platform=str(config.get("platform", "")),
            apps=tuple(a for a in apps.get("apps") or () if isinstance(a, dict)),
            clients=tuple(c for c in clients.get("named_certs") or ()
                          if isinstance(c, dict)),
            log=logs.parse(tail))

    async def _host(self) -> readiness.Readiness:
        c = self.config
        return await readiness.survey(c["drm_path"], c["nvidia_smi"], c["uinput"],
                                      c["port_base"], c["timeout"])
