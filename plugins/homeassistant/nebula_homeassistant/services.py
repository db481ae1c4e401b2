"""Calling Home Assistant services (`POST /api/services/<domain>/<service>`): a request is
normalised into the exact call HA will act on, checked against the allow-list (allowlist.py)
and for entity ids HA does not have at request time (`prepare`), and again just before it
is sent (`run`). HA answers a call on an unknown entity with success and does nothing, so
that must be caught here."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from nebula.api import ParamError
from nebula_homeassistant import allowlist
from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError

PLAIN, SENSITIVE = "homeassistant.call_service", "homeassistant.call_sensitive_service"


class ServiceRefused(Exception):
    """Home Assistant refused the call; the message says why as well as HA lets us know."""


def _target_ids(key: str, value: Any, where: str) -> str | list[str]:
    if isinstance(value, str):
        if key == "entity_id" and value.strip().lower() in allowlist.ENTITY_MATCHES:
            return value.strip().lower()  # HA takes "all" and "none" as a string only
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParamError(where, f"{key} must be a string or a list of strings")
    if key == "entity_id":  # HA lower-cases entity ids (cv.entity_id), and only those
        return list(dict.fromkeys(allowlist.entity_ids(value)))
    return list(dict.fromkeys(s for v in value if (s := v.strip())))


def normalise(params: Mapping[str, Any]) -> dict[str, Any]:
    """The call as HA will read it, in the shape of the action's params (so the schema's
    write-only marks still apply): target keys given in `data` move to `target`, entity ids
    become lists, stripped and lower-cased. Idempotent: `run` applies it again to what
    `prepare` returned."""
    data = dict(params.get("data") or {})
    given = params.get("target") or {}
    target: dict[str, str | list[str]] = {}
    for key in allowlist.TARGET_KEYS:
        found = {where: _target_ids(key, value, where) for where, value in (
            (f"target/{key}", given.get(key)), (f"data/{key}", data.pop(key, None)))
            if value is not None}
        if len({repr(ids) for ids in found.values()}) > 1:
            raise ParamError(f"data/{key}", f"{key} is given both in data and in target "
                                            f"with different values; give it once")
        if found:
            target[key] = next(iter(found.values()))
    return {"domain": params["domain"], "service": params["service"], "data": data,
            "target": target}


def checked(params: Mapping[str, Any], allowed: frozenset[str], *,
            sensitive_action: bool) -> dict[str, Any]:
    """The normalised call, or ParamError when it belongs to the other action."""
    call = normalise(params)
    name = f"{call['domain']}.{call['service']}"
    why = allowlist.sensitive(call, allowed)
    if why and not sensitive_action:
        raise ParamError(why.path, f"{name} is a sensitive call ({why.reason}): use "
                                   f"{SENSITIVE}, which an admin must approve")
    if not why and sensitive_action:
        raise ParamError("(params)", f"{name} is a harmless call: use {PLAIN}; no approval "
                                     f"is needed, so none was filed")
    return call


# Which of these entity ids Home Assistant has no entity for (Runtime.unknown_entities).
Unknown = Callable[[list[str]], Awaitable[list[str]]]


async def resolved(params: Mapping[str, Any], allowed: frozenset[str], unknown: Unknown,
                   known: Callable[[], Iterable[str]], *,
                   sensitive_action: bool) -> dict[str, Any]:
    """`checked`, and every entity id in the target is one HA has (ParamError naming the
    first it does not, with the nearest it does)."""
    call = checked(params, allowed, sensitive_action=sensitive_action)
    ids = call["target"].get("entity_id")
    if isinstance(ids, list) and ids and (missing := await unknown(ids)):
        near = difflib.get_close_matches(missing[0], list(known()), n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        others = (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else "")
        raise ParamError(f"target/entity_id/{ids.index(missing[0])}",
                         f"Home Assistant has no entity {missing[0]}{hint}{others}; it would "
                         f"take the call and change nothing")
    return call


def payload(call: Mapping[str, Any]) -> dict[str, Any]:
    """The REST body: HA's REST API takes the target keys inside the service data."""
    return {**call["data"], **call["target"]}


async def call(client: Client, params: Mapping[str, Any], allowed: frozenset[str],
               unknown: Unknown, known: Callable[[], Iterable[str]], *,
               sensitive_action: bool) -> dict[str, Any]:
    # Checked again here, not only in `prepare` (defence in depth): a caller that reaches
    # `run` without `prepare`, or a plan resolved under an older config or before an
    # entity went away, is held to the list and to HA's entities as they are now.
    plan = await resolved(params, allowed, unknown, known, sensitive_action=sensitive_action)
    domain, service = plan["domain"], plan["service"]
    try:
        changed = await client.post(f"services/{domain}/{service}", payload(plan))
    except HAError as exc:
        if (why := await _why(client, exc, domain, service)) is None:
            raise
        raise ServiceRefused(why) from None
    states = changed if isinstance(changed, list) else changed.get("changed_states", [])
    # No `data` in the answer: it may hold a lock's or an alarm's code.
    return {"service": f"{domain}.{service}", "target": plan["target"],
            "changed": [{"entity_id": s.get("entity_id"), "state": s.get("state")}
                        for s in states if isinstance(s, Mapping)]}


async def _why(client: Client, exc: HAError, domain: str, service: str) -> str | None:
    """Why HA refused or failed the call: its own reason when it gave one (`{"message"}`:
    a ServiceValidationError is a 400, any other error a 500), else what can be found out;
    None when HA did not answer at all (the HAError says why)."""
    name = f"{domain}.{service}"
    if exc.reason and exc.status == 400:
        return f"Home Assistant refused {name}: {exc.reason}"
    if exc.reason and exc.status is not None and exc.status >= 500:
        return f"{name} failed in Home Assistant: {exc.reason}"
    if exc.status == 400:  # HA's bare "400: Bad Request": no such service, or a bad field
        return await _explain(client, domain, service)
    if exc.status == 500:
        return (f"{name} failed in Home Assistant (500 Internal Server Error) and it did not "
                f"say why: Home Assistant versions that do not pass a service's reason on "
                f"over the REST API answer every error a service raises this way (an "
                f"input_select option it does not have, an input_number value out of "
                f"range, a device that does not answer); HA's log (Settings → System → "
                f"Logs) names the cause")
    return None


async def _explain(client: Client, domain: str, service: str) -> str:
    """HA's 400 says only "Bad Request": tell whether the service exists, and its fields."""
    name = f"{domain}.{service}"
    try:
        listing = await client.get("services")
    except HAError:
        return f"Home Assistant refused {name} (400): unknown service or invalid data"
    known = {entry["domain"]: entry.get("services", {}) for entry in listing
             if isinstance(entry, Mapping) and "domain" in entry}
    if domain not in known:
        near = difflib.get_close_matches(domain, list(known), n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        return f"Home Assistant has no service domain {domain!r}{hint}"
    if service not in known[domain]:
        near = difflib.get_close_matches(service, list(known[domain]), n=1)
        hint = f"; did you mean {domain}.{near[0]}?" if near else ""
        return f"Home Assistant has no service {name}{hint}"
    fields = sorted((known[domain][service] or {}).get("fields", {}))
    accepted = f"; its fields: {', '.join(fields)}" if fields else ""
    return f"Home Assistant refused the data for {name} (400 Bad Request){accepted}"
