"""The uptime plugin's hooks: its runtime holds the status pages and their cache."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.uptime.pages import StatusPages
    from nebula.context import PluginContext
    from nebula.surfaces import Endpoint


@hookimpl
def nebula_startup(ctx: PluginContext) -> StatusPages:
    from nebula.builtins import agent_of
    from nebula.builtins.uptime.pages import StatusPages

    pages = {p["slug"]: p for p in ctx.config.get("status_page", [])}
    return StatusPages(agent_of(ctx), ctx.kv, pages)


@hookimpl
def nebula_api_endpoints(runtime: StatusPages) -> Iterable[Endpoint]:
    from nebula.builtins.uptime.routes import api_endpoints

    return api_endpoints(runtime)


@hookimpl
def nebula_web_pages(runtime: StatusPages) -> Iterable[Endpoint]:
    from nebula.builtins.uptime.routes import page_endpoints

    return page_endpoints(runtime)


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("uptime", "nebula.builtins.uptime.cli:uptime",
                         "Uptime of every check (or CHECK) over 24 h, 7 d, 30 d and 90 d, "
                         "with incidents.")]
