"""The google plugin's hooks: everything reads the one `Google` runtime `nebula_startup`
returns (closed by the core when the plugin stops)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Job,
    Panel,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_google import checks, views
from nebula_google.errors import GoogleError
from nebula_google.runtime import Google
from nebula_google.schema import EVENTS_PARAMS, FINISH_PARAMS, config_problems
from nebula_google.tokens import REVOKED

# --- lifecycle -----------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Google:
    return Google(ctx)


# --- contributions -------------------------------------------------------------------------


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: Google) -> list[Check]:
    config = ctx.config

    async def token() -> CheckResult:
        keeper = runtime.keeper
        connected = await keeper.connected()
        if connected and (await keeper.health())["state"] != REVOKED:
            # Refreshes when close to expiry; the keeper records the verdict read below.
            with contextlib.suppress(GoogleError):
                await keeper.access_token()
        return checks.token_health(connected, await keeper.health(), await keeper.meta(),
                                   runtime.consent())

    async def quota() -> CheckResult:
        try:
            values = await runtime.section("quota")
        except GoogleError as exc:
            return CheckResult(Status.UNKNOWN, str(exc))
        return checks.quota(values, config["quota_warning"], config["quota_critical"])

    return [
        Check(name="token", run=token, title="Google token health",
              description="The OAuth refresh token still works (critical once Google "
                          "answers invalid_grant: access revoked or expired).",
              interval=max(config["refresh_interval"], 30), timeout=config["timeout"] + 5,
              flap_threshold=1),
        Check(name="drive_quota", run=quota, title="Google Drive storage quota",
              description="Storage used against the account's quota.",
              interval=config["interval"], timeout=4 * config["timeout"] + 5),
    ]


@hookimpl
def nebula_jobs(ctx: PluginContext, runtime: Google) -> list[Job]:

    async def refresh() -> None:
        keeper = runtime.keeper
        if await keeper.connected() and (await keeper.health())["state"] != REVOKED:
            try:
                await keeper.access_token()
            except GoogleError as exc:
                ctx.log.warning("google.refresh_failed", error=str(exc))

    async def poll() -> None:
        if await runtime.keeper.connected():
            await runtime.poll.refresh()

    return [
        Job(name="refresh", run=refresh, interval=ctx.config["refresh_interval"],
            timeout=ctx.config["timeout"] + 5),
        Job(name="poll", run=poll, interval=ctx.config["interval"],
            timeout=4 * ctx.config["timeout"] * (1 + ctx.config["newest_unread"])),
    ]


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: Google) -> list[Action]:

    async def connect(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.connector.start()

    async def finish(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.connector.finish(params["redirect_url"])

    async def status(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.status()

    async def disconnect(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.disconnect()

    timeout = ctx.config["timeout"] + 5
    return [
        Action(name="connect", run=connect, title="Connect to Google",
               description="Start the OAuth consent: returns the address to open (and, for "
                           "the device flow, the code to enter). The agent finishes in the "
                           "background once access is allowed; see google.status.",
               params=EMPTY_PARAMS, timeout=timeout),
        Action(name="finish", run=finish, title="Finish connecting (paste redirect)",
               description="Complete a loopback consent with the address the browser was "
                           "sent to, when the browser could not reach this host.",
               params=FINISH_PARAMS, timeout=timeout),
        Action(name="status", run=status, title="Google connection status",
               description="Whether Google is connected, the token's health, and any "
                           "consent in progress (read-only).", params=EMPTY_PARAMS,
               timeout=timeout),
        Action(name="disconnect", run=disconnect, title="Disconnect from Google",
               description="Revoke the agent's access at Google and delete the stored "
                           "tokens. Undoing it needs the owner's consent in a browser again.",
               params=EMPTY_PARAMS, destructive=True, timeout=timeout),
    ]


@hookimpl
def nebula_panels(ctx: PluginContext, runtime: Google) -> list[Panel]:

    async def today() -> list[dict[str, Any]]:
        return [views.event_row(e) for e in await runtime.section("events") if e["today"]]

    async def upcoming() -> list[dict[str, Any]]:
        return [views.event_row(e) for e in await runtime.section("events")]

    async def unread() -> dict[str, Any]:
        return {"value": await runtime.section("unread")}

    async def newest() -> list[dict[str, Any]]:
        return await runtime.section("newest")

    async def quota() -> dict[str, Any]:
        return await runtime.section("quota")

    return [
        Panel(name="status", kind="keyvalue", title="Google connection", data=runtime.status,
              description="OAuth connection, token health and any consent in progress.",
              fields=views.STATUS_FIELDS),
        Panel(name="today", kind="table", title="Today's events", data=today,
              description="Calendar events happening today.", fields=views.EVENT_FIELDS),
        Panel(name="upcoming", kind="table", title="Upcoming events", data=upcoming,
              description="Calendar events from today on, in start order.",
              fields=views.EVENT_FIELDS),
        Panel(name="unread", kind="stat", title="Unread mail", data=unread,
              description="Unread messages in the Gmail inbox.",
              fields=(Field("value", "Unread", "messages"),)),
        Panel(name="newest_unread", kind="table", title="Newest unread mail", data=newest,
              description="Sender and subject of the newest unread messages (never their "
                          "content).", fields=views.MAIL_FIELDS),
        Panel(name="drive_quota", kind="keyvalue", title="Drive storage", data=quota,
              description="Storage used against the account's quota.",
              fields=views.QUOTA_FIELDS),
    ]


@hookimpl
def nebula_tools(ctx: PluginContext, runtime: Google) -> list[Tool]:

    async def events(params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            found = await runtime.section("events")
        except GoogleError as exc:
            return {"error": str(exc)}
        if params.get("today_only"):
            found = [e for e in found if e["today"]]
        limit = int(params.get("limit", 20))
        return {"events": [views.event_row(e) for e in found[:limit]],
                "more": max(0, len(found) - limit)}

    async def mail(params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"unread": await runtime.section("unread"),
                    "newest": await runtime.section("newest")}
        except GoogleError as exc:
            return {"error": str(exc)}

    async def status(params: Mapping[str, Any]) -> dict[str, Any]:
        return await runtime.status()

    return [
        Tool(name="upcoming_events", params=EVENTS_PARAMS, run=events,
             description="The owner's Google Calendar events today and in the coming days "
                         "(title, start, end, place)."),
        Tool(name="unread_mail", params=EMPTY_PARAMS, run=mail,
             description="How many unread messages the Gmail inbox holds, with the sender "
                         "and subject of the newest ones (never their content)."),
        Tool(name="status", params=EMPTY_PARAMS, run=status,
             description="Whether the agent is connected to Google and its token works."),
    ]
