"""Jarvis's hooks: the service is its runtime; its API, CLI and chat pane.

Startup fails with a message naming the extra when Jarvis is configured but the `openai`
SDK is not installed (it is optional: `nebula-command[jarvis]`); unconfigured, Jarvis runs
without it and says how to enable it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.jarvis.engine import Jarvis
    from nebula.context import PluginContext
    from nebula.surfaces import Endpoint, WebPage

STATIC = Path(__file__).parent / "static"


def _check_sdk(section: Mapping[str, Any]) -> bool:
    """Whether these settings can run: a configured Jarvis needs the SDK."""
    from nebula.builtins.jarvis.engine import sdk_installed
    from nebula.builtins.jarvis.settings import settings_from

    return not settings_from(section).enabled or sdk_installed()


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Jarvis:
    from nebula.builtins import agent_of
    from nebula.builtins.jarvis.engine import SDK_MISSING, Jarvis, MissingExtra

    if not _check_sdk(ctx.config):
        raise MissingExtra(SDK_MISSING)
    jarvis = Jarvis(agent_of(ctx), ctx.config, ctx.emit)
    await jarvis.start()
    return jarvis


@hookimpl
def nebula_reconfigure(runtime: Jarvis, config: Mapping[str, Any]) -> bool:
    # Turns in flight go on; without the SDK, a restart fails with the reason.
    if not _check_sdk(config):
        return False
    runtime.configure(config)
    return True


@hookimpl
def nebula_api_endpoints(runtime: Jarvis) -> Iterable[Endpoint]:
    from nebula.builtins.jarvis.api import endpoints

    return endpoints(runtime)


@hookimpl
def nebula_web_pages() -> Iterable[WebPage]:
    from nebula.builtins.jarvis.web import PANE

    return [PANE]


@hookimpl
def nebula_web_assets() -> Iterable[Path]:
    return [STATIC / "jarvis.css", STATIC / "jarvis.js"]


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("jarvis", "nebula.builtins.jarvis.cli:jarvis",
                         "Ask Jarvis, the AI copilot (configure it in the [jarvis] section; "
                         "docs/jarvis.md).")]
