"""The fleet plugin's hooks. With `[fleet] hub = true` the runtime is the hub (its CA,
hosts and pollers) and its API and pages are served; otherwise the plugin only lends the
CLI (`nebula fleet enroll` on an agent) and its runtime is None."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.fleet.hub import Hub
    from nebula.context import PluginContext
    from nebula.contributions import Action, Tool
    from nebula.surfaces import Endpoint, WebPage


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Hub | None:
    if not ctx.config["hub"]:
        return None
    from nebula.builtins import agent_of
    from nebula.builtins.fleet.hub import Hub

    hub = Hub(ctx, agent_of(ctx))
    await hub.start()
    return hub


@hookimpl
def nebula_actions(runtime: Hub | None) -> Iterable[Action]:
    if runtime is None:
        return []
    from nebula.builtins.fleet.tools import actions

    return actions(runtime)


@hookimpl
def nebula_tools(runtime: Hub | None) -> Iterable[Tool]:
    if runtime is None:
        return []
    from nebula.builtins.fleet.tools import tools

    return tools(runtime, runtime.agent.tool_runner)


@hookimpl
def nebula_api_endpoints(runtime: Hub | None) -> Iterable[Endpoint]:
    if runtime is None:
        return []
    from nebula.builtins.fleet.api import endpoints

    return endpoints(runtime)


@hookimpl
def nebula_web_pages(runtime: Hub | None) -> Iterable[WebPage | Endpoint]:
    if runtime is None:
        return []
    from nebula.builtins.fleet.web import pages

    return pages(runtime)


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("fleet", "nebula.builtins.fleet.cli:fleet",
                         "Many hosts in one panel: enroll, list, remove, Prometheus "
                         "targets (docs/fleet.md).")]
