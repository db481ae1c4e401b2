"""The panel's pages: overview, plugin pages, approvals, audit and events; the frame every
page is drawn in, and how a running plugin's pages are served inside it."""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from nebula.approvals import ApprovalStatus
from nebula.contributions import Action
from nebula.http.endpoints import PUBLIC, Endpoint, endpoint
from nebula.http.keys import agent_of, principal_of, signed_in
from nebula.http.plugin_endpoints import full_paths
from nebula.http.problems import Problem
from nebula.plugins import LOADED, PluginRecord
from nebula.runs import RunNotFound
from nebula.secrets import SECRETS
from nebula.surfaces import PAGE, PAGE_TAG, WebPage
from nebula.views import PANEL_TIMEOUT, describe_action, describe_panel
from nebula.web.choices import resolve, row_actions
from nebula.web.events_view import feed
from nebula.web.history import SPARKLINES
from nebula.web.html import (
    STATUSES,
    action_form,
    badge,
    bare_page,
    counts,
    e,
    page,
    tile,
    when,
)
from nebula.web.panels import render
from nebula.web.plugin_pages import (
    allowed,
    asset_urls,
    nav_links,
    overview_sections,
    page_path,
)
from nebula.web.results import outcome

STATIC = Path(__file__).parent / "static"
HOST = socket.gethostname()  # in every page's header and title: which machine this is
ASSETS = {"nebula.css": "text/css", "nebula.js": "text/javascript"}


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


async def frame(request: web.Request, title: str, body: str, *, current: str = "",
                aside: str = "") -> web.Response:
    agent = agent_of(request)
    browser = signed_in(request)
    pending = len(await agent.actions.approvals(ApprovalStatus.PENDING.value, 1000))
    # Built-ins list their own pages (nav links) rather than a generic plugin page.
    plugins = sorted(r.name for r in agent.manager.records.values()
                     if r.state == LOADED and not r.builtin)
    return html(page(title, body, current=current,
                     user=principal_of(request).name.removeprefix("user:"),
                     csrf=browser[1].csrf if browser else "",
                     logout=browser[0].logout_path if browser else "", plugins=plugins,
                     pending=pending, aside=aside, links=nav_links(agent),
                     assets=asset_urls(agent), host=HOST))


def plugin_page_endpoints(record: PluginRecord) -> list[Endpoint]:
    """A running plugin's pages as the routes that serve them, inside the frame (a public
    page in the signed-out one), and its page routes (forms) as they are."""

    def serve(item: WebPage) -> Any:
        async def handler(request: web.Request) -> web.Response:
            if not allowed(request, item):
                raise Problem(403, "this page is for admins")
            body = await item.render(request)
            if item.role == PUBLIC:
                return html(bare_page(item.title, body))
            return await frame(request, item.title, body, current=page_path(record, item))

        handler.__name__ = f"{record.name}_page"
        return handler

    pages = [Endpoint("GET", p.path, serve(p), p.title, p.role, tag=PAGE_TAG)
             for p in record.contributions.pages if p.slot == PAGE]
    # A route keeps a tag of its own (a session write; /metrics, which answers a scraper
    # without a token 401 rather than sending it to sign in); others are panel pages.
    routes = [replace(ep, tag=PAGE_TAG if ep.tag == "agent" else ep.tag)
              for ep in record.contributions.page_routes]
    return full_paths("/", record, [*pages, *routes])


async def _tiles(request: web.Request, plugin: str | None = None) -> str:
    checks = [cs.public() for cs in agent_of(request).health.checks.values()
              if plugin in (None, cs.plugin)]
    histories = await request.app[SPARKLINES].recent()
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for check in checks:
        groups[check["plugin"]].append(check)
    sections = []
    for name in sorted(groups):
        tiles = "".join(tile(c, histories.get(c["name"], []))
                        for c in sorted(groups[name], key=lambda c: c["name"]))
        heading = (f'<h2><a href="/plugin/{e(name)}">{e(name)}</a></h2>'
                   if plugin is None and name != "core" else f"<h2>{e(name)} checks</h2>")
        sections.append(f'<section class="group" aria-label="{e(name)} checks">{heading}'
                        f'<ul class="tiles">{tiles}</ul></section>')
    return "".join(sections) or '<p class="muted">No checks yet.</p>'


SEVERITY = {"critical": 0, "warning": 1, "unknown": 2}


def _attention(request: web.Request) -> str:
    """Checks not ok, worst and longest-standing first, each linked to its page."""
    checks = [c.public() for c in agent_of(request).health.checks.values()]
    bad = sorted((c for c in checks if c["status"] in SEVERITY),
                 key=lambda c: (SEVERITY[c["status"]], c["since"] or 0))
    if not bad:
        if not checks:
            return '<p class="muted">No checks yet.</p>'
        words = "The one check is ok." if len(checks) == 1 else f"All {len(checks)} checks are ok."
        return f'<p class="all-ok">{badge("ok")} {words}</p>'

    items = "".join(
        f'<li class="status-{e(c["status"])}">{badge(c["status"])} '
        f'<a href="/checks/{e(c["name"])}">{e(c["title"])}</a> '
        f'<span class="summary">{e(c["status_summary"])}</span> '
        f'<span class="muted">since {when(c["since"])}</span></li>' for c in bad)
    return f'<ul class="attention-list">{items}</ul>'


@endpoint("GET", "/", "The web panel: problems first, then every check as a tile, grouped "
          "by plugin", query={"status": "show only tiles in this status"}, tag=PAGE_TAG)
async def overview(request: web.Request) -> web.Response:
    agent = agent_of(request)
    shown = request.query.get("status", "")
    # Filtered in the stylesheet, not here: every tile stays on the page, so live updates
    # keep the counts right and a tile that changes status appears or leaves at once.
    only = f' data-filter="{e(shown)}"' if shown in STATUSES else ""
    body = ('<h1>Overview</h1>'
            '<section class="attention glass" aria-labelledby="att-h"><h2 id="att-h">Needs '
            'attention</h2><div data-refresh="/overview/attention" data-topics="check.*">'
            f"{_attention(request)}</div></section>"
            f'{counts(agent.health.summary(), link="/")}'
            + (f'<p class="filter-note">Showing {e(shown)} checks only · '
               '<a href="/">show all</a></p>' if only else "")
            + f'<div class="groups"{only}>{await _tiles(request)}</div>')
    aside = ('<section class="glass" aria-labelledby="feed-h"><h2 id="feed-h">Live events</h2>'
             f"{feed(agent.bus.recent, 12)}</section>"
             f"{await overview_sections(request)}")
    return await frame(request, "Overview", body, current="/", aside=aside)


@endpoint("GET", "/overview/attention", "The overview's needs-attention list, for live "
          "refresh", tag=PAGE_TAG)
async def attention_fragment(request: web.Request) -> web.Response:
    return html(_attention(request))


async def _panel_data(panel: Any) -> Any:
    """The panel's data, or the exception it gave (shown in its place)."""
    try:
        return SECRETS.redact(await asyncio.wait_for(panel.data(), PANEL_TIMEOUT))
    except asyncio.TimeoutError as exc:
        return exc
    except Exception as exc:
        return exc


def _panel_html(panel: Any, data: Any, actions: list[Action], admin: bool) -> str:
    if isinstance(data, asyncio.TimeoutError):
        return f'<p class="error">did not answer within {PANEL_TIMEOUT:g}s</p>'
    if isinstance(data, Exception):
        return f'<p class="error">{e(SECRETS.redact(f"{type(data).__name__}: {data}"))}</p>'
    short = panel.name.split(".", 1)[1]
    return render(describe_panel(panel), data, row_actions(short, actions), admin)


def _plugin_actions(agent: Any, name: str) -> list[Action]:
    return sorted((a for a in agent.actions.actions.values()
                   if a.name.split(".")[0] == name), key=lambda a: a.name)


@endpoint("GET", "/plugin/{name}", "A plugin's page: its checks, panels and actions",
          tag=PAGE_TAG)
async def plugin_page(request: web.Request) -> web.Response:
    agent = agent_of(request)
    name = request.match_info["name"]
    record = agent.manager.records.get(name)
    if record is None:
        raise Problem(404, f"no plugin named {name!r}")
    panels = [p for p in agent.panels.values() if p.name.split(".")[0] == name]
    datas = await asyncio.gather(*(_panel_data(p) for p in panels))
    admin = principal_of(request).is_admin
    actions = _plugin_actions(agent, name)
    # A table panel's rows span the page: its columns are what it is for.
    panel_html = "".join(
        f'<section class="panel glass kind-{e(p.kind)}" aria-labelledby="p-{e(p.name)}" '
        f'data-refresh="/plugin/{e(name)}/panel/{e(p.name)}" data-plugin="{e(name)}">'
        f'<h3 id="p-{e(p.name)}">{e(p.title or p.name)}</h3>'
        f'<div class="panel-body">{_panel_html(p, data, actions, admin)}</div>'
        # Outside the body, which a refresh replaces: a row button's result stays.
        + ('<output class="row-result" aria-live="polite"></output>' if p.kind == "table"
           else "") + "</section>"
        for p, data in zip(panels, datas, strict=True))
    picks = await resolve(name, actions, agent.actions.actions,
                          {p.name.split(".", 1)[1]: d for p, d in zip(panels, datas,
                                                                      strict=True)})
    forms = "".join(action_form(describe_action(a), admin, picks.get(a.name))
                    for a in actions)
    error = f'<p class="error">{e(record.error)}</p>' if record.error else ""
    description = record.manifest.description if record.manifest else ""
    body = (f"<h1>{e(name)}</h1><p>{badge('ok' if record.state == LOADED else 'unknown')} "
            f'<span class="muted">{e(record.state)} · {e(description)}</span></p>{error}'
            f'<div class="groups">{await _tiles(request, name)}</div>'
            + (f'<h2>Panels</h2><div class="panels">{panel_html}</div>' if panels else "")
            + (f'<h2>Actions</h2><div class="actions">{forms}</div>' if actions else ""))
    return await frame(request, name, body, current=f"/plugin/{name}")


@endpoint("GET", "/plugin/{name}/panel/{panel}", "One panel's body, for live refresh",
          tag=PAGE_TAG)
async def panel_fragment(request: web.Request) -> web.Response:
    agent = agent_of(request)
    panel = agent.panels.get(request.match_info["panel"])
    if panel is None or panel.name.split(".")[0] != request.match_info["name"]:
        raise Problem(404, f"no panel named {request.match_info['panel']!r}")
    actions = _plugin_actions(agent, request.match_info["name"])
    return html(_panel_html(panel, await _panel_data(panel), actions,
                            principal_of(request).is_admin))


@endpoint("GET", "/runs/{id}/result", "An action run's outcome as HTML (tables and "
          "key-values, never a JSON blob)", tag=PAGE_TAG)
async def run_result(request: web.Request) -> web.Response:
    try:
        run = await agent_of(request).actions.runs.get(request.match_info["id"])
    except RunNotFound:
        raise Problem(404, f"no run {request.match_info['id']!r}") from None
    result = run["outcome"] or {"status": run["status"]}
    return html(outcome(result))


@endpoint("GET", "/static/{file}", "The panel's stylesheet and script (public)",
          role=PUBLIC, tag=PAGE_TAG)
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["file"]
    if name not in ASSETS:
        raise Problem(404, f"no asset {name!r}")
    return web.Response(body=(STATIC / name).read_bytes(), content_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=3600"})
