"""The google plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Job, Panel, PluginContext, Status, Tool
from nebula_google import checks, views
from nebula_google.apis import GoogleApis
from nebula_google.connect import Connector
from nebula_google.errors import GoogleError, NotConnected
from nebula_google.oauth import OAuthClient
from nebula_google.poller import Poller
from nebula_google.tokens import REVOKED, TokenKeeper

EMPTY: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
FINISH_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["redirect_url"],
    "properties": {"redirect_url": {
        "type": "string", "minLength": 1, "title": "Address the browser ended on",
        "description": "After allowing access, Google sends the browser to "
                       "http://127.0.0.1:<port>/?state=…&code=…; when that page does not "
                       "load (the browser runs on another machine), paste its address."}},
}
EVENTS_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "today_only": {"type": "boolean", "default": False,
                       "description": "Only events happening today."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20,
                  "description": "Most events returned."}},
}


class Google:
    """Everything one start of the plugin shares: the tokens, the consent flow and the
    poller that checks, panels and tools read."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.oauth = OAuthClient(lambda: ctx.http, ctx.config)
        self.keeper = TokenKeeper(ctx, self.oauth)
        self.connector = Connector(ctx, self.oauth, self.keeper)
        self.poller = Poller(GoogleApis(lambda: ctx.http, ctx.config, self.keeper),
                             self.keeper)

    def consent(self) -> dict[str, Any] | None:
        pending = self.connector.pending
        return pending.describe() if pending else None

    async def status(self) -> dict[str, Any]:
        return views.status(await self.keeper.connected(), await self.keeper.health(),
                            await self.keeper.meta(), self.consent())

    async def section(self, name: str) -> Any:
        """A section of the latest poll; raises a clear error when it could not be read."""
        if not await self.keeper.connected():
            raise NotConnected()
        snapshot = await self.poller.observe(max_age=self.ctx.config["interval"])
        return snapshot.get(name)

    async def disconnect(self) -> dict[str, Any]:
        await self.connector.stop()
        tokens = await self.keeper.tokens()
        if not tokens:
            return {"disconnected": False, "message": "Google was not connected"}
        revoked, message = True, "access revoked at Google and tokens deleted"
        try:
            await self.oauth.revoke(tokens[0])
        except GoogleError as exc:
            # Deleting our copy still matters; the owner can finish at Google's side.
            revoked = False
            message = (f"tokens deleted, but revoking at Google failed ({exc}): remove "
                       "access at https://myaccount.google.com/permissions")
        await self.keeper.forget()
        self.ctx.log.info("google.disconnected", revoked=revoked)
        return {"disconnected": True, "revoked": revoked, "message": message}


_instances: dict[int, tuple[PluginContext, Google]] = {}


def _google(ctx: PluginContext) -> Google:
    entry = _instances.get(id(ctx))
    if entry is None:
        entry = _instances[id(ctx)] = (ctx, Google(ctx))
    return entry[1]


# --- lifecycle -----------------------------------------------------------------------------


def nebula_startup(ctx: PluginContext) -> None:
    config = ctx.config
    if config["quota_warning"] > config["quota_critical"]:
        raise ValueError("quota_warning must not be above quota_critical")
    _instances[id(ctx)] = (ctx, Google(ctx))


async def nebula_shutdown(ctx: PluginContext) -> None:
    entry = _instances.pop(id(ctx), None)
    if entry is not None:
        await entry[1].connector.stop()


# --- contributions -------------------------------------------------------------------------


def nebula_checks(ctx: PluginContext) -> list[Check]:
    google = _google(ctx)
    config = ctx.config

    async def token() -> CheckResult:
        keeper = google.keeper
        connected = await keeper.connected()
        if connected and (await keeper.health())["state"] != REVOKED:
            # Refreshes when close to expiry; the keeper records the verdict read below.
            with contextlib.suppress(GoogleError):
                await keeper.access_token()
        return checks.token_health(connected, await keeper.health(), await keeper.meta(),
                                   google.consent())

    async def quota() -> CheckResult:
        try:
            values = await google.section("quota")
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


def nebula_jobs(ctx: PluginContext) -> list[Job]:
    google = _google(ctx)

    async def refresh() -> None:
        keeper = google.keeper
        if await keeper.connected() and (await keeper.health())["state"] != REVOKED:
            try:
                await keeper.access_token()
            except GoogleError as exc:
                ctx.log.warning("google.refresh_failed", error=str(exc))

    async def poll() -> None:
        if await google.keeper.connected():
            await google.poller.observe(max_age=0)

    return [
        Job(name="refresh", run=refresh, interval=ctx.config["refresh_interval"],
            timeout=ctx.config["timeout"] + 5),
        Job(name="poll", run=poll, interval=ctx.config["interval"],
            timeout=4 * ctx.config["timeout"] * (1 + ctx.config["newest_unread"])),
    ]


def nebula_actions(ctx: PluginContext) -> list[Action]:
    google = _google(ctx)

    async def connect(params: Mapping[str, Any]) -> dict[str, Any]:
        return await google.connector.start()

    async def finish(params: Mapping[str, Any]) -> dict[str, Any]:
        return await google.connector.finish(params["redirect_url"])

    async def status(params: Mapping[str, Any]) -> dict[str, Any]:
        return await google.status()

    async def disconnect(params: Mapping[str, Any]) -> dict[str, Any]:
        return await google.disconnect()

    timeout = ctx.config["timeout"] + 5
    return [
        Action(name="connect", run=connect, title="Connect to Google",
               description="Start the OAuth consent: returns the address to open (and, for "
                           "the device flow, the code to enter). The agent finishes in the "
                           "background once access is allowed; see google.status.",
               params=EMPTY, timeout=timeout),
        Action(name="finish", run=finish, title="Finish connecting (paste redirect)",
               description="Complete a loopback consent with the address the browser was "
                           "sent to, when the browser could not reach this host.",
               params=FINISH_PARAMS, timeout=timeout),
        Action(name="status", run=status, title="Google connection status",
               description="Whether Google is connected, the token's health, and any "
                           "consent in progress (read-only).", params=EMPTY, timeout=timeout),
        Action(name="disconnect", run=disconnect, title="Disconnect from Google",
               description="Revoke the agent's access at Google and delete the stored "
                           "tokens. Undoing it needs the owner's consent in a browser again.",
               params=EMPTY, destructive=True, timeout=timeout),
    ]


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    google = _google(ctx)

    async def today() -> list[dict[str, Any]]:
        return [views.event_row(e) for e in await google.section("events") if e["today"]]

    async def upcoming() -> list[dict[str, Any]]:
        return [views.event_row(e) for e in await google.section("events")]

    async def unread() -> dict[str, Any]:
        return {"value": await google.section("unread")}

    async def newest() -> list[dict[str, Any]]:
        return await google.section("newest")

    async def quota() -> dict[str, Any]:
        return await google.section("quota")

    return [
        Panel(name="status", kind="keyvalue", title="Google connection", data=google.status,
              description="OAuth connection, token health and any consent in progress.",
              fields=views.STATUS_FIELDS),
        Panel(name="today", kind="table", title="Today's events", data=today,
              description="Calendar events happening today.", fields=views.EVENT_FIELDS),
        Panel(name="upcoming", kind="table", title="Upcoming events", data=upcoming,
              description="Calendar events from today on, in start order.",
              fields=views.EVENT_FIELDS),
        Panel(name="unread", kind="stat", title="Unread mail", data=unread,
              description="Unread messages in the Gmail inbox.",
              fields=(views.Field("value", "Unread", "messages"),)),
        Panel(name="newest_unread", kind="table", title="Newest unread mail", data=newest,
              description="Sender and subject of the newest unread messages (never their "
                          "content).", fields=views.MAIL_FIELDS),
        Panel(name="drive_quota", kind="keyvalue", title="Drive storage", data=quota,
              description="Storage used against the account's quota.",
              fields=views.QUOTA_FIELDS),
    ]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    google = _google(ctx)

    async def events(params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            found = await google.section("events")
        except GoogleError as exc:
            return {"error": str(exc)}
        if params.get("today_only"):
            found = [e for e in found if e["today"]]
        limit = int(params.get("limit", 20))
        return {"events": [views.event_row(e) for e in found[:limit]],
                "more": max(0, len(found) - limit)}

    async def mail(params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"unread": await google.section("unread"),
                    "newest": await google.section("newest")}
        except GoogleError as exc:
            return {"error": str(exc)}

    async def status(params: Mapping[str, Any]) -> dict[str, Any]:
        return await google.status()

    return [
        Tool(name="upcoming_events", params=EVENTS_PARAMS, run=events,
             description="The owner's Google Calendar events today and in the coming days "
                         "(title, start, end, place)."),
        Tool(name="unread_mail", params=EMPTY, run=mail,
             description="How many unread messages the Gmail inbox holds, with the sender "
                         "and subject of the newest ones (never their content)."),
        Tool(name="status", params=EMPTY, run=status,
             description="Whether the agent is connected to Google and its token works."),
    ]
