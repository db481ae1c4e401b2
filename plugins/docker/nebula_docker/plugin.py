"""Entry point of the docker plugin: its manifest, config schema and thin hooks.

The manager imports every installed plugin to read its manifest; the hook bodies (and the
SDKs they need) live in `nebula_docker.hooks`, imported only when the plugin is used, so a
disabled plugin costs the agent no memory.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from nebula.api import Manifest, PluginContext, hookimpl
from nebula_docker.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="Containers on a Docker-API engine (Docker or Podman): state, health, "
                "restarts, stats, logs, actions, prune, disk use and one-click databases.",
)


def _hooks() -> ModuleType:
    from nebula_docker import hooks

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
def nebula_actions(ctx: PluginContext) -> Any:
    return _hooks().nebula_actions(ctx)


@hookimpl
def nebula_panels(ctx: PluginContext) -> Any:
    return _hooks().nebula_panels(ctx)


@hookimpl
def nebula_tools(ctx: PluginContext) -> Any:
    return _hooks().nebula_tools(ctx)


@hookimpl
def nebula_jobs(ctx: PluginContext) -> Any:
    return _hooks().nebula_jobs(ctx)


@hookimpl
def nebula_routes(ctx: PluginContext) -> Any:
    return _hooks().nebula_routes(ctx)
