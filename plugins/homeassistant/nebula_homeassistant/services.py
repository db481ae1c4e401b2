"""Calling Home Assistant services (`POST /api/services/<domain>/<service>`), and the
rule deciding which calls are sensitive (they go through `call_sensitive_service`, which
an admin approves)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError, Kind

TARGET_KEYS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")
# `homeassistant.turn_off` and friends act on entities of any domain (a lock, a cover).
GENERIC_DOMAIN = "homeassistant"


class ServiceRefused(Exception):
    """The call is not for this action; the message says which one to use."""


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def sensitive_reason(domain: str, data: Mapping[str, Any], target: Mapping[str, Any],
                     sensitive: Iterable[str]) -> str | None:
    """Why this call touches a sensitive domain, or None when it does not."""
    domains = set(sensitive)
    if domain in domains:
        return f"domain {domain} is sensitive"
    entity_ids = _ids(data.get("entity_id")) + _ids(target.get("entity_id"))
    hit = sorted(e for e in entity_ids if e.split(".", 1)[0] in domains)
    if hit:
        return f"it targets {', '.join(hit)}"
    if domain == GENERIC_DOMAIN:
        broad = [k for k in TARGET_KEYS[1:] if data.get(k) or target.get(k)]
        if broad or "all" in entity_ids:
            # A device, area or label may hold a lock: it cannot be ruled out here.
            return f"{domain} services on {', '.join(broad) or 'all entities'} may reach " \
                   f"sensitive entities"
    return None


def payload(data: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The REST body: HA's REST API takes the target keys inside the service data."""
    body = dict(data)
    for key, value in target.items():
        if key in body and body[key] != value:
            raise ServiceRefused(f"{key} is given both in data and in target with different "
                                 f"values; give it once")
        body[key] = value
    return body


async def call(client: Client, params: Mapping[str, Any], sensitive: Iterable[str], *,
               sensitive_action: bool) -> dict[str, Any]:
    domain, service = params["domain"], params["service"]
    data, target = params.get("data") or {}, params.get("target") or {}
    reason = sensitive_reason(domain, data, target, sensitive)
    name = f"{domain}.{service}"
    if reason and not sensitive_action:
        raise ServiceRefused(f"{name} is a sensitive call ({reason}): use "
                             f"homeassistant.call_sensitive_service, which an admin must "
                             f"approve")
    if not reason and sensitive_action:
        raise ServiceRefused(f"{name} is not a sensitive call: use "
                             f"homeassistant.call_service")
    try:
        changed = await client.post(f"services/{domain}/{service}", payload(data, target))
    except HAError as exc:
        if exc.kind is Kind.REFUSED and exc.status == 400:
            raise ServiceRefused(await _explain(client, domain, service)) from None
        raise
    states = changed if isinstance(changed, list) else changed.get("changed_states", [])
    return {"service": name, "data": payload(data, target),
            "changed": [{"entity_id": s.get("entity_id"), "state": s.get("state")}
                        for s in states if isinstance(s, Mapping)]}


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
