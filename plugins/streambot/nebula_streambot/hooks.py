"""The streambot plugin's hooks: an `AppWatch` of the stream bot SnappleBotAI is its runtime (the
defaults and wording are in schema.py); the core closes it when the plugin stops."""

from __future__ import annotations

from nebula.api import Action, Check, Panel, PluginContext, Tool, hookimpl
from nebula.helpers.appwatch import AppWatch
from nebula_streambot.schema import SPEC


@hookimpl
def nebula_startup(ctx: PluginContext) -> AppWatch:
    return AppWatch(ctx, SPEC)  # a bad metric or threshold fails the start with its reason


@hookimpl
def nebula_checks(runtime: AppWatch) -> list[Check]:
    return runtime.checks()


@hookimpl
def nebula_actions(runtime: AppWatch) -> list[Action]:
    return runtime.actions()


@hookimpl
def nebula_panels(runtime: AppWatch) -> list[Panel]:
    return runtime.panels()


@hookimpl
def nebula_tools(runtime: AppWatch) -> list[Tool]:
    return runtime.tools()
