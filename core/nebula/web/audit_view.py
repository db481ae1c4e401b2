"""The audit page: search by part of a name ("postgres" finds every postgres.* action), by
plugin, outcome (coloured), actor and date range, fifty rows a page, and an empty state
that says so and how to widen the search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from nebula.http.endpoints import endpoint
from nebula.http.keys import agent_of
from nebula.surfaces import PAGE_TAG
from nebula.web.html import badge, e, table, when
from nebula.web.pages import frame, html
from nebula.web.results import render_value

PAGE_SIZE = 50
OUTCOMES = {"ok": "ok", "error": "critical", "denied": "critical",
            "pending_approval": "warning", "interrupted": "unknown"}
FIELDS = ("q", "plugin", "actor", "outcome", "from", "to", "page")
AUDIT_QUERY = {"q": "part of the action, actor or detail", "plugin": "a plugin's actions",
               "actor": "exact actor", "outcome": "ok, error, denied, pending_approval or "
               "interrupted", "from": "first day, YYYY-MM-DD (agent's time zone)",
               "to": "last day, YYYY-MM-DD", "page": "1, 2, …"}


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def filters(request: web.Request) -> dict[str, str]:
    q = request.query
    out = {k: (q.get(k) or "").strip()[:200] for k in FIELDS}
    if out["outcome"] not in OUTCOMES:
        out["outcome"] = ""
    for k in ("from", "to"):
        if not _day(out[k]):
            out[k] = ""
    out["page"] = out["page"] if out["page"].isdigit() and int(out["page"]) > 0 else "1"
    return out


def _epoch(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).astimezone().timestamp()


async def rows(request: web.Request, f: Mapping[str, str]) -> list[dict[str, Any]]:
    start, to = _day(f["from"]), _day(f["to"])
    since = _epoch(start) if start else 0
    until = _epoch(to + dt.timedelta(days=1)) if to else None
    page = int(f["page"])
    return await agent_of(request).actions.audit_log(
        f["actor"] or None, None, f["outcome"] or None, since, PAGE_SIZE + 1,
        search=f["q"] or None, plugin=f["plugin"] or None, until=until,
        offset=(page - 1) * PAGE_SIZE)


def _link(f: Mapping[str, str], **change: Any) -> str:
    merged = {**f, **{k: str(v) for k, v in change.items()}}
    return "/audit?" + urlencode({k: v for k, v in merged.items()
                                  if v and not (k == "page" and v == "1")})


def render(found: list[dict[str, Any]], f: Mapping[str, str]) -> str:
    page = int(f["page"])
    shown = found[:PAGE_SIZE]
    filtered = any(f[k] for k in FIELDS if k != "page")
    if not shown:
        hint = (' <a href="/audit">Clear the filters</a> to see everything.'
                if filtered else " Actions people, policies and Jarvis run are listed here.")
        return f'<p class="muted empty">No audit entries match.{hint}</p>'
    body = table(
        ("When", "Actor", "Action", "Outcome", "Parameters", "Detail"),
        ((when(r["ts"]), e(r["actor"]), e(r["action"]),
          badge(OUTCOMES.get(r["outcome"], "unknown"), r["outcome"].replace("_", " ")),
          render_value(r["params"], "params") if r["params"] else "",
          e(r["detail"])) for r in shown), "audit log")
    prev = (f'<a class="btn small" rel="prev" href="{e(_link(f, page=page - 1))}">Newer</a>'
            if page > 1 else "")
    nxt = (f'<a class="btn small" rel="next" href="{e(_link(f, page=page + 1))}">Older</a>'
           if len(found) > PAGE_SIZE else "")
    first = (page - 1) * PAGE_SIZE + 1
    return (body + f'<nav class="pager" aria-label="audit pages">{prev}'
            f'<span class="muted">entries {first} to {first + len(shown) - 1}</span>{nxt}</nav>')


def _form(f: Mapping[str, str], plugins: list[str]) -> str:
    def options(values: list[str], chosen: str, any_label: str) -> str:
        return "".join(f'<option value="{e(v)}"{" selected" if v == chosen else ""}>'
                       f'{e(v.replace("_", " ") or any_label)}</option>'
                       for v in ["", *values])

    def box(key: str, label: str, control: str) -> str:
        return f'<div><label for="a-{key}">{label}</label>{control}</div>'

    return (
        '<form class="filters glass" method="get" action="/audit">'
        + box("q", "Search", f'<input id="a-q" name="q" value="{e(f["q"])}" '
              'placeholder="part of an action, actor or detail">')
        + box("plugin", "Plugin", f'<select id="a-plugin" name="plugin">'
              f'{options(plugins, f["plugin"], "any")}</select>')
        + box("outcome", "Outcome", f'<select id="a-outcome" name="outcome">'
              f'{options(list(OUTCOMES), f["outcome"], "any")}</select>')
        + box("actor", "Actor", f'<input id="a-actor" name="actor" value="{e(f["actor"])}" '
              'placeholder="exact, e.g. user:admin">')
        + box("from", "From", f'<input id="a-from" type="date" name="from" value="{e(f["from"])}">')
        + box("to", "To", f'<input id="a-to" type="date" name="to" value="{e(f["to"])}">')
        + '<div><button class="btn primary" type="submit">Filter</button></div></form>')


@endpoint("GET", "/audit", "The audit log with search and filters", query=AUDIT_QUERY,
          tag=PAGE_TAG)
async def audit_page(request: web.Request) -> web.Response:
    agent = agent_of(request)
    f = filters(request)
    plugins = sorted({n.split(".")[0] for n in agent.actions.actions})
    query = urlencode({k: v for k, v in f.items() if v})
    body = (f"<h1>Audit log</h1>{_form(f, plugins)}"
            f'<div data-refresh="/audit/list?{e(query)}" data-topics="action.* approval.*">'
            f"{render(await rows(request, f), f)}</div>")
    return await frame(request, "Audit", body, current="/audit")


@endpoint("GET", "/audit/list", "The audit table, for live refresh", query=AUDIT_QUERY,
          tag=PAGE_TAG)
async def audit_fragment(request: web.Request) -> web.Response:
    f = filters(request)
    return html(render(await rows(request, f), f))
