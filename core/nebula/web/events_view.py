"""Events in plain words: "system.memory ok → warning: 91 % used", coloured by status,
linked to what they are about, filterable; the machinery's own chatter (progress ticks,
Jarvis's streamed text, log lines, first-result batches) stays out of the feed.

The live feed is this same HTML: the page's script reloads the fragment when an event
arrives, so the words are written once, here."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from nebula.http.endpoints import endpoint
from nebula.http.keys import agent_of
from nebula.surfaces import PAGE_TAG
from nebula.web.html import STATUS_ICON, e, when

# Topics that say how the agent works, not what happened: too many, or meaningless alone.
INTERNAL = ("check.first_results", "action.progress", "jarvis.delta", "jarvis.waiting",
            "jarvis.tool_call", "*.log", "log")
KINDS = {"checks": ("check.*",), "actions": ("action.*",), "approvals": ("approval.*",),
         "plugins": ("plugin.*", "agent.*")}


def internal(topic: str) -> bool:
    return any(fnmatch.fnmatchcase(topic, p) for p in INTERNAL)


def kind_of(topic: str) -> str:
    return next((k for k, pats in KINDS.items()
                 if any(fnmatch.fnmatchcase(topic, p) for p in pats)), "other")


@dataclass(frozen=True)
class Described:
    text: str
    status: str  # ok / warning / critical / unknown, or "" for none
    href: str


APPROVAL_STATUS = {"requested": "warning", "approved": "ok", "denied": "critical",
                   "expired": "unknown"}


def describe(event: Mapping[str, Any]) -> Described:
    topic, data = event["topic"], event.get("data") or {}
    if topic == "check.changed":
        check = str(data.get("check", ""))
        summary = f": {data['summary']}" if data.get("summary") else ""
        return Described(f"{check} {data.get('old')} → {data.get('new')}{summary}",
                         str(data.get("new") or "unknown"), f"/checks/{quote(check)}")
    if topic.startswith("approval."):
        verb = topic.split(".", 1)[1]
        action = data.get("action", "")
        who = data.get("requested_by") if verb == "requested" else data.get("decided_by")
        by = f" by {who}" if who else ""
        why = f": {data['reason']}" if verb == "denied" and data.get("reason") else ""
        return Described(f"{action} {verb}{by}{why}", APPROVAL_STATUS.get(verb, ""),
                         "/approvals")
    if topic == "action.ran":
        action, status = data.get("action", ""), data.get("status", "")
        return Described(f"{action} ran for {data.get('actor', 'someone')}: {status}",
                         "ok" if status == "ok" else "critical",
                         f"/audit?{urlencode({'q': action})}")
    if topic in ("plugin.started", "plugin.stopped"):
        plugin = str(data.get("plugin", ""))
        return Described(f"{plugin} plugin {topic.split('.')[1]}", "", f"/plugin/{quote(plugin)}")
    detail = data.get("summary") or data.get("message") or data.get("action") or ""
    source = event.get("source") or ""
    href = f"/plugin/{quote(source)}" if source and source != "core" else ""
    return Described(f"{topic}: {detail}" if detail else topic, "", href)


def item(event: Mapping[str, Any]) -> str:
    d = describe(event)
    status = f" status-{e(d.status)}" if d.status else ""
    icon = (f'<span class="icon" aria-hidden="true">{STATUS_ICON[d.status]}</span> '
            if d.status in STATUS_ICON else "")
    words = f'<a href="{e(d.href)}">{e(d.text)}</a>' if d.href else e(d.text)
    return (f'<li class="event{status}" data-topic="{e(event["topic"])}">{icon}'
            f'<span class="detail">{words}</span> {when(event["ts"])}</li>')


def shown(events: Iterable[Mapping[str, Any]], kind: str = "", q: str = "",
          status: str = "") -> list[Mapping[str, Any]]:
    """Newest first, internal ones left out, then the filters."""
    out = []
    for ev in reversed(list(events)):
        if internal(ev["topic"]) or (kind and kind_of(ev["topic"]) != kind):
            continue
        d = describe(ev)
        if status and d.status != status:
            continue
        if q and q.lower() not in f"{ev['topic']} {d.text}".lower():
            continue
        out.append(ev)
    return out


def feed_items(events: Iterable[Mapping[str, Any]], limit: int, **filters: str) -> str:
    items = "".join(item(ev) for ev in shown(events, **filters)[:limit])
    empty = "" if items else '<p class="muted empty">No events match.</p>'
    return f'<ol class="feed" data-feed aria-live="polite">{items}</ol>{empty}'


def feed(events: Iterable[Mapping[str, Any]], limit: int, query: str = "",
         **filters: str) -> str:
    """The list, reloaded in place (`data-refresh`) when an event that is not internal
    comes (`data-skip` names those)."""
    src = f"/events/list?{query}&limit={limit}" if query else f"/events/list?limit={limit}"
    return (f'<div data-refresh="{e(src)}" data-topics="*" data-skip="{e(" ".join(INTERNAL))}">'
            f"{feed_items(events, limit, **filters)}</div>")


def _filters(request: web.Request) -> dict[str, str]:
    q = request.query
    kind = q.get("kind", "")
    status = q.get("status", "")
    return {"kind": kind if kind in (*KINDS, "other") else "",
            "q": q.get("q", "")[:200],
            "status": status if status in STATUS_ICON else ""}


def _form(f: Mapping[str, str]) -> str:
    kinds = "".join(f'<option value="{k}"{" selected" if k == f["kind"] else ""}>'
                    f"{k or 'all'}</option>" for k in ("", *KINDS, "other"))
    statuses = "".join(f'<option value="{s}"{" selected" if s == f["status"] else ""}>'
                       f"{s or 'any'}</option>" for s in ("", *STATUS_ICON))
    return ('<form class="filters glass" method="get" action="/events">'
            f'<div><label for="ev-q">Contains</label><input id="ev-q" name="q" '
            f'value="{e(f["q"])}" placeholder="check, action, words"></div>'
            f'<div><label for="ev-kind">Kind</label><select id="ev-kind" name="kind">{kinds}'
            '</select></div>'
            f'<div><label for="ev-status">Status</label><select id="ev-status" name="status">'
            f'{statuses}</select></div>'
            '<div><button class="btn primary" type="submit">Filter</button></div></form>')


EVENTS_QUERY = {"q": "words the event contains", "kind": "checks, actions, approvals, "
                "plugins or other", "status": "ok, warning, critical or unknown",
                "limit": "1-200"}


@endpoint("GET", "/events", "The events, in words, with filters", query=EVENTS_QUERY,
          tag=PAGE_TAG)
async def events_page(request: web.Request) -> web.Response:
    from nebula.web.pages import frame  # pages imports this module for the overview

    f = _filters(request)
    query = urlencode({k: v for k, v in f.items() if v})
    body = (f"<h1>Events</h1>{_form(f)}"
            '<section class="glass event-list" aria-label="events">'
            f"{feed(agent_of(request).bus.recent, 200, query, **f)}</section>")
    return await frame(request, "Events", body, current="/events")


@endpoint("GET", "/events/list", "The events list, for live refresh", query=EVENTS_QUERY,
          tag=PAGE_TAG)
async def events_fragment(request: web.Request) -> web.Response:
    from nebula.web.pages import html  # pages imports this module for the overview

    f = _filters(request)
    try:
        limit = max(1, min(200, int(request.query.get("limit", "50"))))
    except ValueError:
        limit = 50
    return html(feed_items(agent_of(request).bus.recent, limit, **f))
