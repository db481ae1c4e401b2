"""The `n8n` plugin's hooks: two checks, a workflow panel, activate/deactivate actions and
Jarvis tools, all reading one coordinator so n8n is polled once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Manifest,
    Panel,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)
from nebula_n8n.client import N8nClient, N8nError

manifest = Manifest(api_version="1.1",
                    description="n8n: health, workflows, activate and deactivate.")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "properties": {
        "url": {"type": "string", "default": "http://127.0.0.1:5678",
                "description": "n8n's base URL"},
        # Secret-named: masked in `config show`, logs and API answers. Prefer
        # `api_key_file = "/run/secrets/n8n"` or `api_key = "${N8N_API_KEY}"`.
        "api_key": {"type": "string", "description": "n8n API key (Settings > n8n API)"},
        "interval": {"type": "number", "minimum": 5, "default": 60,
                     "description": "seconds between polls of n8n"},
        "timeout": {"type": "number", "minimum": 1, "default": 10},
        "page_size": {"type": "integer", "minimum": 1, "maximum": 250, "default": 100,
                      "description": "workflows per API page (n8n allows up to 250)"},
    }}

WORKFLOW_ID = {"type": "object", "additionalProperties": False, "required": ["id"],
               "properties": {"id": {"type": "string", "minLength": 1,
                                     "description": "the workflow's id"}}}


class Coordinator:
    """Poll once, read many: the workflow list is fetched at most once per interval
    (and after an action changed it), whoever asks — check, panel or tool."""

    def __init__(self, ctx: PluginContext) -> None:
        cfg = ctx.config
        self.client = N8nClient(ctx.http, cfg["url"], cfg.get("api_key"), cfg["timeout"])
        self.max_age, self.page_size = cfg["interval"], cfg["page_size"]
        self._fetched = float("-inf")
        self._workflows: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()

    async def workflows(self) -> list[dict[str, Any]]:
        async with self._lock:
            if time.monotonic() - self._fetched >= self.max_age:
                self._workflows = await self.client.workflows(self.page_size)
                self._fetched = time.monotonic()
            return self._workflows

    def invalidate(self) -> None:
        self._fetched = float("-inf")


# One coordinator per start of the plugin, shared by its hooks; the entry keeps the
# context alive, so its id is not reused while the entry exists.
_coordinators: dict[int, tuple[PluginContext, Coordinator]] = {}


def _coordinator(ctx: PluginContext) -> Coordinator:
    if id(ctx) not in _coordinators:
        _coordinators[id(ctx)] = (ctx, Coordinator(ctx))
    return _coordinators[id(ctx)][1]


def _row(workflow: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": workflow["id"], "name": workflow.get("name", ""),
            "active": bool(workflow.get("active")), "updated": workflow.get("updatedAt")}


@hookimpl
def nebula_config_schema() -> dict[str, Any]:
    return CONFIG_SCHEMA


@hookimpl
def nebula_shutdown(ctx: PluginContext) -> None:
    _coordinators.pop(id(ctx), None)


@hookimpl
def nebula_checks(ctx: PluginContext) -> list[Check]:
    coordinator = _coordinator(ctx)

    async def health() -> CheckResult:
        started = time.perf_counter()
        try:
            body = await coordinator.client.health()
        except N8nError as exc:
            return CheckResult(Status.CRITICAL, str(exc))
        latency = {"latency_ms": (time.perf_counter() - started) * 1000}
        if not isinstance(body, dict) or body.get("status") != "ok":
            return CheckResult(Status.CRITICAL, f"n8n /healthz answered {body!r}", latency)
        return CheckResult(Status.OK, "n8n is up", latency)

    async def workflows() -> CheckResult:
        try:
            found = await coordinator.workflows()
        except N8nError as exc:
            return CheckResult(Status.CRITICAL, str(exc))
        active = sum(1 for w in found if w.get("active"))
        return CheckResult(Status.OK, f"{len(found)} workflows, {active} active",
                           {"workflows": float(len(found)), "active": float(active)})

    interval = ctx.config["interval"]
    return [Check("health", health, title="n8n is up", interval=interval),
            Check("workflows", workflows, title="n8n API and workflows", interval=interval)]


@hookimpl
def nebula_actions(ctx: PluginContext) -> list[Action]:
    coordinator = _coordinator(ctx)

    def setter(active: bool) -> Any:
        async def run(params: Mapping[str, Any]) -> dict[str, Any]:
            workflow = await coordinator.client.set_active(params["id"], active)
            coordinator.invalidate()
            verb = "activated" if active else "deactivated"
            await ctx.emit(f"workflow.{verb}", {"id": params["id"],
                                                "name": workflow.get("name")})
            return _row(workflow)

        return run

    # Deactivating is destructive: it silently stops production automations (webhook
    # calls answer 404, scheduled runs are skipped) and nothing missed meanwhile is
    # replayed, so it waits for an admin's approval. Activating runs what the owner built
    # and is undone without loss, so it does not.
    return [Action("activate", setter(True), title="Activate an n8n workflow",
                   params=WORKFLOW_ID),
            Action("deactivate", setter(False), title="Deactivate an n8n workflow",
                   description="Stops the workflow's triggers until it is activated again.",
                   params=WORKFLOW_ID, destructive=True)]


@hookimpl
def nebula_panels(ctx: PluginContext) -> list[Panel]:
    coordinator = _coordinator(ctx)

    async def data() -> list[dict[str, Any]]:
        return [_row(w) for w in await coordinator.workflows()]

    return [Panel("workflows", "table", data, title="n8n workflows", fields=(
        Field("id", "ID"), Field("name", "Name"),
        Field("active", "Active", "", "whether its triggers are live"),
        Field("updated", "Updated", "", "last change, ISO 8601"),
    ))]


@hookimpl
def nebula_tools(ctx: PluginContext) -> list[Tool]:
    coordinator = _coordinator(ctx)

    async def workflows(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [_row(w) for w in await coordinator.workflows()]
        if "active" in params:
            rows = [r for r in rows if r["active"] == params["active"]]
        return rows

    return [
        Tool("workflows", "List n8n workflows with their id, name and whether active.",
             params={"type": "object", "additionalProperties": False, "properties": {
                 "active": {"type": "boolean", "description": "only active (or inactive)"}}},
             run=workflows),
        # Through the action, so Jarvis too stops at the approval.
        Tool("deactivate", "Deactivate an n8n workflow by id (needs an admin's approval).",
             params=WORKFLOW_ID, action=f"{ctx.name}.deactivate"),
    ]
