"""The notify plugin's hooks: everything reads the one Notifier `nebula_startup` returns
(the plugin's runtime, closed by the core when the plugin stops)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    PluginContext,
    Subscription,
    Tool,
    hookimpl,
)
from nebula_notify import rows
from nebula_notify.runtime import Notifier, timer_interval
from nebula_notify.schema import (
    ADD_CHANNEL_PARAMS,
    RECENT_PARAMS,
    REMOVE_CHANNEL_PARAMS,
    SEND_TEST_PARAMS,
    config_problems,
)

if TYPE_CHECKING:
    import click


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Notifier:
    notifier = Notifier(ctx)
    await notifier.start()
    return notifier


@hookimpl
def nebula_subscriptions(runtime: Notifier) -> list[Subscription]:
    # One subscription to everything, routed inside: a pattern per channel would deliver an
    # event matching two channels' patterns twice.
    return [Subscription(name="events", topic="*", handler=runtime.on_event)]


@hookimpl
def nebula_jobs(runtime: Notifier) -> list[Job]:
    async def run() -> None:
        await runtime.reconcile()

    return [Job(name="reminders", run=run, interval=timer_interval(runtime.repeat),
                timeout=60)]


@hookimpl
def nebula_checks(runtime: Notifier) -> list[Check]:
    async def run() -> CheckResult:
        return runtime.delivery()

    return [Check(name="delivery", run=run, title="Notification delivery",
                  description="Warning while the last message on any channel could not be "
                              "delivered (after its retries).",
                  interval=30, timeout=5, flap_threshold=1)]


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: Notifier) -> list[Action]:
    async def test(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.send_test(params.get("channel"), params.get(
            "message", "This is a test message from Nebula Command."))

    async def add(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.add_channel(params)

    async def remove(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.remove_channel(params["name"])

    # A name that cannot be used is a 422 at request time, before anything runs.
    async def check_test(params: Mapping[str, Any]) -> Mapping[str, Any]:
        runtime.may_test(params.get("channel"))
        return params

    async def check_add(params: Mapping[str, Any]) -> Mapping[str, Any]:
        runtime.may_add(params["name"])
        return params

    async def check_remove(params: Mapping[str, Any]) -> Mapping[str, Any]:
        runtime.may_remove(params["name"])
        return params

    timeout = ctx.config["timeout"] * (ctx.config["retries"] + 1) + 65
    return [Action(name="test", run=test, title="Send a test notification",
                   description="Send a test message now to one channel or all of them, "
                               "ignoring routing and quiet hours; answers each channel's "
                               "outcome.",
                   params=SEND_TEST_PARAMS, timeout=timeout, prepare=check_test),
            Action(name="add_channel", run=add, title="Add a notification channel",
                   description="Add (or replace) a channel from an Apprise URL — Gotify, "
                               "Telegram, Pushover, Matrix, Slack, e-mail and 100 more — "
                               "kept encrypted in the agent's secret store, and send it a "
                               "test. Needs nebula-command[apprise].",
                   params=ADD_CHANNEL_PARAMS, timeout=timeout, prepare=check_add),
            Action(name="remove_channel", run=remove, title="Remove an added channel",
                   description="Remove a channel added with notify.add_channel (its URL "
                               "is deleted); channels of the config file stay.",
                   params=REMOVE_CHANNEL_PARAMS, prepare=check_remove)]


@hookimpl
def nebula_panels(runtime: Notifier) -> list[Panel]:
    async def history() -> list[dict[str, Any]]:
        return await runtime.recent(100)

    async def channels() -> list[dict[str, Any]]:
        return [c.public() for c in runtime.channels.values()]

    return [
        Panel(name="recent", kind="table", title="Recent notifications",
              description="Messages sent, failed or held back, newest first.",
              data=history, fields=rows.HISTORY_FIELDS),
        Panel(name="channels", kind="table", title="Notification channels",
              description="Each channel's last delivery.", data=channels,
              fields=rows.CHANNEL_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: Notifier) -> list[Tool]:
    async def recent(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.recent(int(params.get("limit", 20)))

    return [Tool(name="recent_notifications", params=RECENT_PARAMS, run=recent,
                 description="The most recent notifications (problems, recoveries, "
                             "approvals, remediation runs) and whether each was delivered.")]


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("notify", "nebula_notify.cli:notify",
                         "Notification channels: list, test, add and remove them.")]
