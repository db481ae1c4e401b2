"""A plugin with one panel of every kind, an action and a webhook; and a plugin whose
check's first run waits for the test, for the web panel's tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Manifest,
    Panel,
    PluginContext,
    Status,
    Webhook,
    hookimpl,
)

WEBHOOK_SECRET = "s3cret-webhook-value-for-tests"


class Showcase:
    manifest = Manifest(api_version="1.0", description="every panel kind")

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.value = 7
        self.ctx: PluginContext | None = None

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def _stat(self) -> Any:
        return {"value": self.value}

    async def _kv(self) -> Any:
        return {"version": "1.2.3", "uptime": 3600}

    async def _table(self) -> Any:
        return [{"name": "web", "state": "running"}, {"name": "db", "state": "exited"}]

    async def _list(self) -> Any:
        return ["first <b>item</b>", "second item"]

    async def _series(self) -> Any:
        now = time.time()
        return [{"t": now - 60 * (10 - i), "cpu": 10 + i * 3, "mem": 50 - i} for i in range(10)]

    @hookimpl
    def nebula_panels(self) -> list[Panel]:
        return [
            Panel("count", "stat", self._stat, title="Widgets",
                  fields=(Field("value", "Widgets", "pcs", "how many"),)),
            Panel("about", "keyvalue", self._kv, title="About",
                  fields=(Field("version", "Version"), Field("uptime", "Uptime", "s"))),
            Panel("containers", "table", self._table, title="Containers",
                  fields=(Field("name", "Name"), Field("state", "State"))),
            Panel("notes", "list", self._list, title="Notes"),
            Panel("load", "timeseries", self._series, title="Load",
                  fields=(Field("cpu", "CPU", "%"), Field("mem", "Memory", "%"))),
        ]

    async def _restock(self, params: Mapping[str, Any]) -> Any:
        self.value = params["to"]
        return {"widgets": self.value}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [Action("restock", self._restock, title="Restock", params={
            "type": "object", "required": ["to"],
            "properties": {"to": {"type": "integer", "minimum": 0}}})]

    @hookimpl
    def nebula_webhooks(self) -> list[Webhook]:
        async def ping(request: web.Request) -> web.Response:
            self.calls.append(await request.json())
            if self.ctx is not None:
                await self.ctx.emit("pinged", {"summary": "pinged"})
            return web.json_response({"ok": True})

        return [Webhook("ping", ping, secret=WEBHOOK_SECRET)]


class SlowStart:
    """One check whose first run waits until the test calls `release()`."""

    manifest = Manifest(api_version="1.0", description="a check slow to first answer")

    def __init__(self) -> None:
        self._released: asyncio.Event | None = None  # made on the agent's loop

    def _gate(self) -> asyncio.Event:
        if self._released is None:
            self._released = asyncio.Event()
        return self._released

    async def release(self) -> None:
        self._gate().set()

    async def _check(self) -> CheckResult:
        await self._gate().wait()
        return CheckResult(Status.WARNING, "answered at last", {"value": 1.0})

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("first", self._check, title="Slow starter", interval=3600, timeout=60)]
