"""Entry point of the zoneedit plugin: its manifest, config schema and thin hooks.

The manager imports every installed plugin to read its manifest; the hook bodies (and the
SDKs they need) live in `nebula_zoneedit.hooks`, imported only when the plugin is used, so a
disabled plugin costs the agent no memory.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from nebula.api import Manifest, PluginContext, hookimpl
from nebula_zoneedit.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="Keeps ZoneEdit dynamic-DNS records on the public IP that several echo "
                "services agree on; checks that DNS serves it.",
)


def _hooks() -> ModuleType:
    from nebula_zoneedit import hooks

    return hooks


@hookimpl
def nebula_config_schema() -> dict[str, Any]:
    return copy.deepcopy(CONFIG_SCHEMA)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Any:
    return _hooks().nebula_startup(ctx)


@hookimpl
def nebula_shutdown(ctx: PluginContext) -> Any:
    return _hooks().nebula_shutdown(ctx)


@hookimpl
def nebula_checks(ctx: PluginContext) -> Any:
    return _hooks().nebula_checks(ctx)


@hookimpl
def nebula_jobs(ctx: PluginContext) -> Any:
    return _hooks().nebula_jobs(ctx)


@hookimpl
def nebula_actions(ctx: PluginContext) -> Any:
    return _hooks().nebula_actions(ctx)


@hookimpl
def nebula_panels(ctx: PluginContext) -> Any:
    return _hooks().nebula_panels(ctx)


@hookimpl
def nebula_tools(ctx: PluginContext) -> Any:
    return _hooks().nebula_tools(ctx)
