"""The sunshine plugin's hooks, imported when the plugin first starts. Startup returns the
`SunshineRuntime`; the core hands it to the other hooks and closes it when the plugin stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Field, Panel, PluginContext, hookimpl
from nebula.helpers.checks import CheckSpec
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_sunshine import actions
from nebula_sunshine.checks import CHECKS
from nebula_sunshine.client import SunshineClient
from nebula_sunshine.coordinator import Snapshot, SunshineRuntime
from nebula_sunshine.schema import (
    ADD_APP_PARAMS,
    EDIT_APP_PARAMS,
    PAIR_PARAMS,
    REMOVE_APP_PARAMS,
    UNPAIR_PARAMS,
)

Params = Mapping[str, Any]


@hookimpl
def nebula_startup(ctx: PluginContext) -> SunshineRuntime:
    config = ctx.config
    ctx.add_secret(config["password"])

    async def pinned(fingerprint: str) -> None:
        ctx.log.info("sunshine.certificate_pinned", fingerprint=fingerprint)

    client = SunshineClient(lambda: ctx.http, config["url"], config["username"],
                            config["password"], timeout=config["timeout"], store=ctx.kv,
                            fixed=config.get("fingerprint"), on_pin=pinned)
    return SunshineRuntime(client, config, ctx.emit, ctx.log)


def _check(ctx: PluginContext, runtime: SunshineRuntime, spec: CheckSpec[Snapshot]
           ) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        return spec.evaluate(await runtime.snapshot(), ctx.config)
    return run


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: SunshineRuntime) -> list[Check]:
    timeout = 3 * ctx.config["timeout"] + 5
    return [Check(name=spec.name, run=_check(ctx, runtime, spec), title=spec.title,
                  description=spec.description, interval=ctx.config["interval"],
                  timeout=timeout)
            for spec in CHECKS if spec.name != "host" or ctx.config["local"]]


APP_FIELDS = (Field("index", "#"), Field("name", "App"), Field("cmd", "Command"),
              Field("prep", "Prep commands"))
CLIENT_FIELDS = (Field("name", "Client"), Field("uuid", "UUID"))
SESSION_FIELDS = (Field("state", "State"), Field("active_sessions", "Active sessions"),
                  Field("sessions_started", "Sessions since start"),
                  Field("version", "Sunshine version"))
ERROR_FIELDS = (Field("time", "Time"), Field("level", "Level"), Field("kind", "Kind"),
                Field("message", "Message"))


def _reading(runtime: SunshineRuntime, render: Callable[[Snapshot], Any]
             ) -> Callable[[], Awaitable[Any]]:
    async def data() -> Any:
        snap = await runtime.snapshot()
        if snap.error:
            raise snap.error   # the panel says why, not an empty table
        return render(snap)
    return data


def _errors(snap: Snapshot) -> list[dict[str, str]]:
    kinds = {id(e): "encoder" for e in snap.log.encoder_errors}
    kinds |= {id(e): "session" for e in snap.log.failed_sessions}
    return [{**e.public(), "kind": kinds.get(id(e), "other")}
            for e in reversed(snap.log.errors)]


@hookimpl
def nebula_panels(runtime: SunshineRuntime) -> list[Panel]:
    return [
        Panel(name="apps", kind="table", title="Sunshine apps", fields=APP_FIELDS,
              description="What Moonlight clients can start.",
              data=_reading(runtime, lambda snap: [
                  {"index": i, "name": a.get("name", ""), "cmd": a.get("cmd", ""),
                   "prep": len(a.get("prep-cmd") or ())} for i, a in enumerate(snap.apps)])),
        Panel(name="clients", kind="table", title="Paired clients", fields=CLIENT_FIELDS,
              description="Moonlight clients paired with this host.",
              data=_reading(runtime, lambda snap: [
                  {"name": c.get("name", ""), "uuid": c.get("uuid", "")}
                  for c in snap.clients])),
        Panel(name="session", kind="keyvalue", title="Current session", fields=SESSION_FIELDS,
              description="Whether someone streams now.",
              data=_reading(runtime, lambda snap: {
                  "state": "streaming" if snap.log.active_sessions else "idle",
                  "active_sessions": snap.log.active_sessions,
                  "sessions_started": snap.log.sessions_started,
                  "version": snap.version})),
        Panel(name="log_errors", kind="table", title="Recent Sunshine errors",
              fields=ERROR_FIELDS, description="Errors in its log, newest first.",
              data=_reading(runtime, _errors)),
    ]


def _on_client(runtime: SunshineRuntime,
               run: Callable[[SunshineClient, Params], Awaitable[Any]]
               ) -> Callable[[Params], Awaitable[Any]]:
    async def action(params: Params) -> Any:
        try:
            return await run(runtime.client, params)
        finally:
            runtime.invalidate()
    return action


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: SunshineRuntime) -> list[Action]:
    timeout = 2 * ctx.config["timeout"] + 5

    def prepared(plan: Callable[[SunshineClient, Params], Awaitable[Any]]
                 ) -> Callable[[Params], Awaitable[Any]]:
        async def run(params: Params) -> Any:
            return await plan(runtime.client, params)
        return run

    async def session_plan(params: Params) -> Any:
        return await actions.plan_session(runtime, params)

    return [
        Action(name="pair", run=_on_client(runtime, actions.pair), params=PAIR_PARAMS,
               title="Pair a client",
               description="Enter the PIN Moonlight shows while it pairs, and a name for the "
                           "device.", timeout=timeout),
        Action(name="unpair", run=_on_client(runtime, actions.unpair),
               prepare=prepared(actions.plan_unpair), params=UNPAIR_PARAMS,
               title="Unpair", destructive=True, timeout=timeout,
               description="Remove a client's pairing (or every client's): it must pair "
                           "again with a PIN."),
        Action(name="add_app", run=_on_client(runtime, actions.add_app),
               params=ADD_APP_PARAMS, title="Add app", timeout=timeout,
               description="Add an app Moonlight clients can start."),
        Action(name="edit_app", run=_on_client(runtime, actions.edit_app),
               params=EDIT_APP_PARAMS, title="Edit app", timeout=timeout,
               description="Change an app's name, command or other settings."),
        Action(name="remove_app", run=_on_client(runtime, actions.remove_app),
               prepare=prepared(actions.plan_remove_app), params=REMOVE_APP_PARAMS,
               title="Remove app", destructive=True, timeout=timeout,
               description="Remove an app from Sunshine's list."),
        Action(name="close_app", run=_on_client(runtime, actions.close_app),
               prepare=session_plan, params=EMPTY_PARAMS, title="Close the running app",
               destructive=True, timeout=timeout,
               description="End the app being streamed; whoever streams is disconnected "
                           "(the plan says how many)."),
        Action(name="restart", run=_on_client(runtime, actions.restart),
               prepare=session_plan, params=EMPTY_PARAMS, title="Restart Sunshine",
               destructive=True, timeout=timeout,
               description="Restart Sunshine; running sessions end."),
        Action(name="trust_certificate", run=_on_client(runtime, actions.trust),
               prepare=prepared(actions.plan_trust), params=EMPTY_PARAMS,
               title="Trust Sunshine's new certificate", destructive=True, timeout=timeout,
               description="Pin the certificate Sunshine presents now (after it was "
                           "reinstalled or its certificate replaced). The plan shows the "
                           "fingerprint to compare with Sunshine's."),
    ]
