"""The actions. The destructive ones have a `prepare` that resolves the request against what
Sunshine has now (a client's uuid to its name, an app's name to its index and command) so
the approver sees exactly what will go; `run` checks that it is still so before acting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import ParamError
from nebula.helpers.net import FailureKind
from nebula_sunshine.client import SunshineClient, SunshineError, ok
from nebula_sunshine.coordinator import SunshineRuntime

Params = Mapping[str, Any]
APP_KEYS = ("cmd", "output", "working-dir", "image-path", "detached", "prep-cmd")


async def pair(client: SunshineClient, params: Params) -> dict[str, Any]:
    try:
        answer = await client.post("/api/pin", {"pin": params["pin"], "name": params["name"]})
    except SunshineError as exc:
        if exc.kind is not FailureKind.HTTP:
            raise
        answer = {"status": False}
    if not ok(answer):
        raise RuntimeError("Sunshine did not take the PIN: start pairing in Moonlight first "
                           "and enter the PIN it shows while it waits (a PIN is good for "
                           "that one attempt only)")
    return {"status": "paired", "name": params["name"]}


async def _clients(client: SunshineClient) -> list[dict[str, str]]:
    listed = (await client.get("/api/clients/list")).get("named_certs") or ()
    return [{"uuid": str(c.get("uuid")), "name": str(c.get("name", ""))} for c in listed]


async def plan_unpair(client: SunshineClient, params: Params) -> dict[str, Any]:
    clients = await _clients(client)
    if params.get("all"):
        if params.get("uuid"):
            raise ParamError("uuid", "give a uuid or all = true, not both")
        if not clients:
            raise ParamError("all", "no client is paired")
        return {"clients": clients}
    if not params.get("uuid"):
        raise ParamError("uuid", "name a client (its uuid) or pass all = true")
    for found in clients:
        if found["uuid"] == params["uuid"]:
            return {"clients": [found]}
    known = ", ".join(f"{c['name']} ({c['uuid']})" for c in clients) or "none"
    raise ParamError("uuid", f"no paired client {params['uuid']}; paired: {known}")


async def unpair(client: SunshineClient, plan: Params) -> dict[str, Any]:
    # One by one, never unpair-all: a client paired since the approval stays paired.
    present = {c["uuid"] for c in await _clients(client)}
    done, gone = [], []
    for item in plan["clients"]:
        if item["uuid"] not in present:
            gone.append(item["name"])
            continue
        await client.post("/api/clients/unpair", {"uuid": item["uuid"]})
        done.append(item["name"])
    return {"unpaired": done, "already_gone": gone}


def _app_body(params: Params) -> dict[str, Any]:
    body = {key: params[key] for key in APP_KEYS if key in params}
    # Sunshine before 0.23 reads both lists unconditionally: send them, empty if need be.
    body.setdefault("prep-cmd", [])
    body.setdefault("detached", [])
    return body


async def _apps(client: SunshineClient) -> list[dict[str, Any]]:
    return [a for a in (await client.get("/api/apps")).get("apps") or ()
            if isinstance(a, dict)]


def _find(apps: list[dict[str, Any]], name: str) -> int:
    matches = [i for i, app in enumerate(apps) if app.get("name") == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ParamError("name", f"{len(matches)} apps are named {name!r}; rename one in "
                                 "Sunshine first")
    known = ", ".join(repr(a.get("name")) for a in apps) or "none"
    raise ParamError("name", f"no app {name!r}; apps: {known}")


async def add_app(client: SunshineClient, params: Params) -> dict[str, Any]:
    apps = await _apps(client)
    if any(app.get("name") == params["name"] for app in apps):
        raise ParamError("name", f"an app named {params['name']!r} exists already; edit it")
    await client.post("/api/apps", {"name": params["name"], **_app_body(params), "index": -1})
    return {"status": "added", "name": params["name"]}


async def edit_app(client: SunshineClient, params: Params) -> dict[str, Any]:
    apps = await _apps(client)
    index = _find(apps, params["name"])
    changed = {key: params[key] for key in APP_KEYS if key in params}
    body = {**apps[index], **changed, "name": params.get("new_name") or params["name"],
            "index": index}
    body.setdefault("prep-cmd", [])
    body.setdefault("detached", [])
    await client.post("/api/apps", body)
    return {"status": "changed", "name": body["name"], "fields": sorted(changed)}


async def plan_remove_app(client: SunshineClient, params: Params) -> dict[str, Any]:
    apps = await _apps(client)
    index = _find(apps, params["name"])
    return {"index": index, "name": params["name"], "cmd": apps[index].get("cmd", "")}


async def remove_app(client: SunshineClient, plan: Params) -> dict[str, Any]:
    apps = await _apps(client)
    index = plan["index"]
    if (index >= len(apps) or apps[index].get("name") != plan["name"]
            or apps[index].get("cmd", "") != plan["cmd"]):
        raise RuntimeError(f"Sunshine's app list changed since the approval: {plan['name']!r} "
                           f"is no longer app {index} with that command; ask again")
    await client.delete(f"/api/apps/{index}")
    return {"status": "removed", "name": plan["name"]}


async def plan_session(runtime: SunshineRuntime, params: Params) -> dict[str, Any]:
    """For close and restart: who is streaming now, as the approver should know."""
    snap = await runtime.snapshot(max_age=0)
    if snap.error:
        raise snap.error
    return {"active_sessions": snap.log.active_sessions}


async def close_app(client: SunshineClient, plan: Params) -> dict[str, Any]:
    await client.post("/api/apps/close")
    return {"status": "closed", "sessions_ended": plan["active_sessions"]}


async def restart(client: SunshineClient, plan: Params) -> dict[str, Any]:
    try:
        await client.post("/api/restart")
    except SunshineError as exc:
        # Sunshine restarts inside the request: the connection drops without an answer.
        if exc.kind is not FailureKind.DISCONNECTED:
            raise
    return {"status": "restart requested", "sessions_ended": plan["active_sessions"]}


async def plan_trust(client: SunshineClient, params: Params) -> dict[str, Any]:
    if client.fixed:
        raise ParamError("(params)", "the certificate is pinned by the `fingerprint` setting: "
                                     "change it there")
    seen = await client.presented()
    pinned = await client.pinned()
    if seen == pinned:
        raise ParamError("(params)", f"Sunshine presents the pinned certificate ({seen}); "
                                     "nothing to trust")
    return {"fingerprint": seen, "replaces": pinned}


async def trust(client: SunshineClient, plan: Params) -> dict[str, Any]:
    seen = await client.presented()
    if seen != plan["fingerprint"]:
        raise RuntimeError(f"Sunshine now presents {seen}, not the {plan['fingerprint']} "
                           "that was approved; ask again")
    await client.pin(seen)
    return {"status": "pinned", "fingerprint": seen}
