"""The logs plugin's hooks, imported and registered when the plugin first starts. Startup
returns the `Logs` runtime; the core hands it to the other hooks and closes it on stop."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from nebula.api import (
    Action,
    Check,
    Endpoint,
    Field,
    Panel,
    PluginContext,
    Subscription,
    Tool,
    WebPage,
    hookimpl,
)
from nebula_logs import api, checks, live, page, tools
from nebula_logs.coordinator import Logs
from nebula_logs.schema import config_problems


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Logs:
    return await Logs.start(ctx)


@hookimpl
def nebula_checks(runtime: Logs) -> list[Check]:
    return [checks.ingest_check(runtime),
            *(checks.rule_check(runtime, rule) for rule in runtime.config["rules"])]


@hookimpl
def nebula_panels(runtime: Logs) -> list[Panel]:
    async def sources() -> list[dict[str, Any]]:
        return [{"name": s["name"], "kind": s["kind"], "state": s["state"],
                 "lines": s["lines"], "error": s["error"]} for s in runtime.sources()]

    async def store() -> dict[str, Any]:
        f = await runtime.figures.get()
        return {"lines": f["lines"], "size_mb": round(f["bytes"] / 1e6, 1),
                "queued": f["queued"], "queue_capacity": f["queue_capacity"],
                "refused": f["refused"], "waits": f["waits"],
                "waited_seconds": f["waited_seconds"], "last_commit_ms": f["last_commit_ms"],
                "retention_deleted": f["retention_deleted"], "errors": f["errors"]}

    return [Panel("store", "keyvalue", store, "Log store",
                  "The store's size and its back-pressure: lines waiting for the writer, "
                  "lines refused because the queue was full, and how often (and how long) "
                  "sources waited for room.",
                  fields=(Field("lines", "Lines", "lines"), Field("size_mb", "Size", "MB"),
                          Field("queued", "Queued", "lines"),
                          Field("queue_capacity", "Queue capacity", "lines"),
                          Field("refused", "Refused (queue full)", "lines"),
                          Field("waits", "Sources waited", "times"),
                          Field("waited_seconds", "Time waited", "s"),
                          Field("last_commit_ms", "Last commit", "ms"),
                          Field("retention_deleted", "Deleted by retention", "lines"),
                          Field("errors", "Write errors", "times"))),
            Panel("sources", "table", sources, "Log sources",
                  "Each source, its state and the lines it brought in since the start.",
                  fields=(Field("name", "Source"), Field("kind", "Kind"),
                          Field("state", "State"), Field("lines", "Lines", "lines"),
                          Field("error", "Problem")))]


@hookimpl
def nebula_subscriptions(runtime: Logs) -> list[Subscription]:
    # Any plugin contributes lines with ctx.emit("log", {"message": …, "level": …}).
    if not runtime.config["plugin_events"]:
        return []
    return [Subscription("plugin_logs", "*.log", runtime.plugin_log)]


@hookimpl
def nebula_tools(runtime: Logs) -> list[Tool]:
    return tools.tools(runtime)


@hookimpl
def nebula_actions(runtime: Logs) -> list[Action]:
    return tools.actions(runtime)


@hookimpl
def nebula_api_endpoints(runtime: Logs) -> list[Endpoint]:
    return api.endpoints(runtime)


@hookimpl
def nebula_routes(runtime: Logs) -> web.RouteTableDef:
    return live.routes(runtime)


@hookimpl
def nebula_web_pages(runtime: Logs) -> list[WebPage]:
    return [WebPage("Logs", page.render, nav=True)]


@hookimpl
def nebula_web_assets() -> list[Path]:
    static = Path(__file__).parent / "static"
    return [static / "logs.js", static / "logs.css"]


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("logs", "nebula_logs.cli:logs",
                         "Search and tail the server's logs (the logs plugin).")]
