"""The maintenance plugin's hooks: the window engine is its runtime; its API, CLI and page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.maintenance.engine import Maintenance
    from nebula.context import PluginContext
    from nebula.surfaces import Endpoint, WebPage


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Maintenance:
    from nebula.builtins import agent_of
    from nebula.builtins.maintenance.engine import Maintenance

    maintenance = Maintenance(agent_of(ctx).health, ctx.emit, ctx.kv)
    await maintenance.start(ctx.config["maintenance"])
    return maintenance


@hookimpl
async def nebula_reconfigure(runtime: Maintenance, config: Mapping[str, Any]) -> bool:
    # In place: ad-hoc windows and skipped occurrences stay; boundaries are re-announced.
    await runtime.configure(config["maintenance"])
    return True


@hookimpl
def nebula_api_endpoints(runtime: Maintenance) -> Iterable[Endpoint]:
    from nebula.builtins.maintenance.api import endpoints

    return endpoints(runtime)


@hookimpl
def nebula_web_pages(runtime: Maintenance) -> Iterable[WebPage | Endpoint]:
    from nebula.builtins.maintenance.web import pages

    return pages(runtime)


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("maintenance", "nebula.builtins.maintenance.cli:maintenance",
                         "Maintenance windows: list, start, stop.")]
