"""Plugins used by the core's tests: well-behaved ones and each kind of misbehaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Job,
    Manifest,
    Panel,
    PluginContext,
    Status,
    Subscription,
    Tool,
    hookimpl,
)


class Switchable:
    """A plugin whose check reports whatever status the test sets, with a safe action,
    a destructive action, a panel, a tool, a job, a route and a subscription."""

    manifest = Manifest(api_version="1.0", description="test plugin")

    def __init__(self, interval: float = 30.0) -> None:
        self.status = Status.OK
        self.interval = interval
        self.deleted: list[str] = []
        self.job_runs = 0
        self.seen_events: list[dict[str, Any]] = []
        self.started = 0
        self.stopped = 0
        self.config: Mapping[str, Any] = {}

    @hookimpl
    def nebula_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "properties": {
            "label": {"type": "string", "default": "switch"},
            "api_token": {"type": "string"},
            "threshold": {"type": "integer", "minimum": 0, "default": 5},
        }}

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.started += 1
        self.config = ctx.config

    @hookimpl
    async def nebula_shutdown(self) -> None:
        self.stopped += 1

    async def _check(self) -> CheckResult:
        return CheckResult(self.status, f"switch is {self.status.value}", {"value": 1.0})

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("switch", self._check, title="Switch", interval=self.interval,
                      timeout=2)]

    async def _echo(self, params: Mapping[str, Any]) -> Any:
        return {"echo": dict(params)}

    async def _delete(self, params: Mapping[str, Any]) -> Any:
        self.deleted.append(params["target"])
        return f"deleted {params['target']}"

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [
            Action("echo", self._echo, title="Echo", params={
                "type": "object", "additionalProperties": False, "required": ["word"],
                "properties": {"word": {"type": "string"},
                               "times": {"type": "integer", "minimum": 1, "maximum": 3}}}),
            Action("delete", self._delete, title="Delete", destructive=True, params={
                "type": "object", "required": ["target"],
                "properties": {"target": {"type": "string"}}}),
        ]

    async def _panel(self) -> Any:
        return {"value": 42}

    @hookimpl
    def nebula_panels(self) -> list[Panel]:
        return [Panel("answer", "stat", self._panel, title="Answer",
                      fields=(Field("value", "Answer", "", "the answer"),))]

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [Tool("delete_tool", "delete a thing", action="switchable.delete")]

    async def _job(self) -> None:
        self.job_runs += 1

    @hookimpl
    def nebula_jobs(self) -> list[Job]:
        return [Job("tick", self._job, interval=0.1)]

    async def _on_event(self, event: Mapping[str, Any]) -> None:
        self.seen_events.append(dict(event))

    @hookimpl
    def nebula_subscriptions(self) -> list[Subscription]:
        return [Subscription("watch", "check.*", self._on_event)]

    @hookimpl
    def nebula_routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()

        @routes.get("/hello/{who}")
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"hello": request.match_info["who"]})

        return routes


class RaisesInHook:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        raise RuntimeError("hook exploded")


class RaisesInStartup:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    async def nebula_startup(self) -> None:
        raise ValueError("cannot reach the service")


class HangsInStartup:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    async def nebula_startup(self) -> None:
        await asyncio.sleep(3600)


class BadChecks:
    """One check raises, one hangs past its timeout, one returns garbage."""

    manifest = Manifest(api_version="1.0")

    async def _raise(self) -> CheckResult:
        raise OSError("disk on fire")

    async def _hang(self) -> CheckResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def _garbage(self) -> Any:
        return "all good"

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("raises", self._raise), Check("hangs", self._hang, timeout=0.3),
                Check("garbage", self._garbage)]


class WrongApi:
    manifest = Manifest(api_version="2.0")


class NoManifest:
    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return []


class UnknownHook:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    def nebula_chekcs(self) -> list[Check]:
        return []


class FlakySubscriber:
    """Its handler raises, then lets out a CancelledError, then works."""

    manifest = Manifest(api_version="1.0")

    def __init__(self) -> None:
        self.calls = 0
        self.received: list[str] = []

    async def _handle(self, event: Mapping[str, Any]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("handler bug")
        if self.calls == 2:
            raise asyncio.CancelledError
        self.received.append(event["topic"])

    @hookimpl
    def nebula_subscriptions(self) -> list[Subscription]:
        return [Subscription("all", "plugin.poke", self._handle)]
