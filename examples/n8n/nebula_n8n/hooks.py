"""The n8n plugin's hooks: two checks, a workflow panel, activate/deactivate actions and
Jarvis tools, all reading the one runtime `nebula_startup` returns (so n8n is polled once
per interval); the core closes it when the plugin stops."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Panel,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)
from nebula_n8n.client import N8nError
from nebula_n8n.coordinator import N8n
from nebula_n8n.schema import WORKFLOW_ID, WORKFLOWS_QUERY


def _row(workflow: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": workflow["id"], "name": workflow.get("name", ""),
            "active": bool(workflow.get("active")), "updated": workflow.get("updatedAt")}


@hookimpl
def nebula_startup(ctx: PluginContext) -> N8n:
    return N8n(ctx)


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: N8n) -> list[Check]:
    async def health() -> CheckResult:
        started = time.perf_counter()
        try:
            body = await runtime.client.health()
        except N8nError as exc:
            return CheckResult(Status.CRITICAL, str(exc))
        latency = {"latency_ms": (time.perf_counter() - started) * 1000}
        if not isinstance(body, dict) or body.get("status") != "ok":
            return CheckResult(Status.CRITICAL, f"n8n /healthz answered {body!r}", latency)
        return CheckResult(Status.OK, "n8n is up", latency)

    async def workflows() -> CheckResult:
        try:
            found = await runtime.workflows.get()
        except N8nError as exc:
            return CheckResult(Status.CRITICAL, str(exc))
        active = sum(1 for w in found if w.get("active"))
        return CheckResult(Status.OK, f"{len(found)} workflows, {active} active",
                           {"workflows": float(len(found)), "active": float(active)})

    interval = ctx.config["interval"]
    return [Check("health", health, title="n8n is up", interval=interval),
            Check("workflows", workflows, title="n8n API and workflows", interval=interval)]


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: N8n) -> list[Action]:
    def setter(active: bool) -> Any:
        async def run(params: Mapping[str, Any]) -> dict[str, Any]:
            workflow = await runtime.set_active(params["id"], active)
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
def nebula_panels(runtime: N8n) -> list[Panel]:
    async def data() -> list[dict[str, Any]]:
        return [_row(w) for w in await runtime.workflows.get()]

    return [Panel("workflows", "table", data, title="n8n workflows", fields=(
        Field("id", "ID"), Field("name", "Name"),
        Field("active", "Active", "", "whether its triggers are live"),
        Field("updated", "Updated", "", "last change, ISO 8601"),
    ))]


@hookimpl
def nebula_tools(ctx: PluginContext, runtime: N8n) -> list[Tool]:
    async def workflows(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [_row(w) for w in await runtime.workflows.get()]
        if "active" in params:
            rows = [r for r in rows if r["active"] == params["active"]]
        return rows

    return [
        Tool("workflows", "List n8n workflows with their id, name and whether active.",
             params=WORKFLOWS_QUERY, run=workflows),
        # Through the action, so Jarvis too stops at the approval.
        Tool("deactivate", "Deactivate an n8n workflow by id (needs an admin's approval).",
             params=WORKFLOW_ID, action=f"{ctx.name}.deactivate"),
    ]
