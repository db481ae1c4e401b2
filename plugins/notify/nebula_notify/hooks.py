"""The notify plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Job, Panel, PluginContext, Subscription, Tool
from nebula_notify import rows
from nebula_notify.notifier import Notifier, timer_interval

# One Notifier per start of the plugin, keyed by its context (which the entry keeps alive,
# so the id cannot be reused while the entry exists).
_notifiers: dict[int, tuple[PluginContext, Notifier]] = {}
RECENT_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20,
                             "description": "Most recent notifications to return."}},
}


def _problems(config: Mapping[str, Any]) -> list[str]:
    names = [c["name"] for c in config["channels"]]
    return [f"channel name {n!r} is used twice" for n in sorted(set(names))
            if names.count(n) > 1]


def _notifier(ctx: PluginContext) -> Notifier:
    return _notifiers[id(ctx)][1]


async def nebula_startup(ctx: PluginContext) -> None:
    if found := _problems(ctx.config):
        raise ValueError("; ".join(found))
    notifier = Notifier(ctx)
    await notifier.start()
    _notifiers[id(ctx)] = (ctx, notifier)


async def nebula_shutdown(ctx: PluginContext) -> None:
    entry = _notifiers.pop(id(ctx), None)
    if entry is not None:
        await entry[1].stop()


def nebula_subscriptions(ctx: PluginContext) -> list[Subscription]:
    # One subscription to everything, routed inside: a pattern per channel would deliver an
    # event matching two channels' patterns twice.
    return [Subscription(name="events", topic="*", handler=_notifier(ctx).on_event)]


def nebula_jobs(ctx: PluginContext) -> list[Job]:
    notifier = _notifier(ctx)

    async def run() -> None:
        await notifier.reconcile()

    return [Job(name="reminders", run=run, interval=timer_interval(notifier.repeat),
                timeout=60)]


def nebula_checks(ctx: PluginContext) -> list[Check]:
    notifier = _notifier(ctx)

    async def run() -> CheckResult:
        return notifier.delivery()

    return [Check(name="delivery", run=run, title="Notification delivery",
                  description="Warning while the last message on any channel could not be "
                              "delivered (after its retries).",
                  interval=30, timeout=5, flap_threshold=1)]


def nebula_actions(ctx: PluginContext) -> list[Action]:
    notifier = _notifier(ctx)
    names = sorted(notifier.channels)

    async def test(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await notifier.send_test(params.get("channel"), params.get(
            "message", "This is a test message from Nebula Command."))

    channel: dict[str, Any] = {"type": "string", "title": "Channel",
                               "description": "Only this channel (default: every channel)."}
    if names:
        channel["enum"] = names
    return [Action(name="test", run=test, title="Send a test notification",
                   description="Send a test message now to one channel or all of them, "
                               "ignoring routing and quiet hours; answers each channel's "
                               "outcome.",
                   params={"type": "object", "additionalProperties": False, "properties": {
                       "channel": channel,
                       "message": {"type": "string", "title": "Message", "maxLength": 1000,
                                   "description": "The text to send."}}},
                   timeout=ctx.config["timeout"] * (ctx.config["retries"] + 1) + 65)]


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    notifier = _notifier(ctx)

    async def history() -> list[dict[str, Any]]:
        return notifier.recent(100)

    async def channels() -> list[dict[str, Any]]:
        return [c.public() for c in notifier.channels.values()]

    return [
        Panel(name="recent", kind="table", title="Recent notifications",
              description="Messages sent, failed or held back, newest first.",
              data=history, fields=rows.HISTORY_FIELDS),
        Panel(name="channels", kind="table", title="Notification channels",
              description="Each channel's last delivery.", data=channels,
              fields=rows.CHANNEL_FIELDS),
    ]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    notifier = _notifier(ctx)

    async def recent(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return notifier.recent(int(params.get("limit", 20)))

    return [Tool(name="recent_notifications", params=RECENT_PARAMS, run=recent,
                 description="The most recent notifications (problems, recoveries, "
                             "approvals, remediation runs) and whether each was delivered.")]
