"""The zoneedit plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned; the
contributions are those of every `nebula.helpers.ddns` plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Check, Job, Panel, PluginContext, Tool, hookimpl
from nebula.helpers.ddns import contributions
from nebula_zoneedit.coordinator import Updater, updater
from nebula_zoneedit.schema import config_problems

PROVIDER = "ZoneEdit"


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Updater:
    return updater(ctx)


@hookimpl
def nebula_checks(runtime: Updater) -> list[Check]:
    return contributions.checks(runtime, PROVIDER)


@hookimpl
def nebula_jobs(runtime: Updater) -> list[Job]:
    return contributions.jobs(runtime)


@hookimpl
def nebula_actions(runtime: Updater) -> list[Action]:
    return contributions.actions(runtime, PROVIDER)


@hookimpl
def nebula_panels(runtime: Updater) -> list[Panel]:
    return contributions.panels(runtime, PROVIDER)


@hookimpl
def nebula_tools(runtime: Updater) -> list[Tool]:
    return contributions.tools(runtime, PROVIDER)
