"""The panel's pages: overview, plugin pages, approvals, audit and events; the frame every
page is drawn in, and how a running plugin's pages are served inside it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from nebula.approvals import ApprovalStatus
from nebula.http.endpoints import PUBLIC, Endpoint, endpoint
from nebula.http.keys import agent_of, principal_of, signed_in
from nebula.http.plugin_endpoints import full_paths
from nebula.http.problems import Problem
from nebula.plugins import LOADED, PluginRecord
from nebula.secrets import SECRETS
from nebula.surfaces import PAGE, PAGE_TAG, WebPage
from nebula.views import PANEL_TIMEOUT, describe_action, describe_panel
from nebula.web.history import SPARKLINES
from nebula.web.html import (
    STATUSES,
    action_form,
    badge,
    bare_page,
    code,
    counts,
    e,
    page,
    table,
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

STATIC = Path(__file__).parent / "static"
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
                     assets=asset_urls(agent)))


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


def _feed(events: list[dict[str, Any]], limit: int) -> str:
    items = "".join(_event_item(ev) for ev in reversed(events[-limit:]))
    return f'<ol class="feed" data-feed data-max="{limit}" aria-live="polite">{items}</ol>'


def _event_item(ev: dict[str, Any]) -> str:
    data = ev.get("data") or {}
    detail = data.get("summary") or data.get("action") or data.get("plugin") or ""
    return (f'<li><span class="topic">{e(ev["topic"])}</span> {when(ev["ts"])} '
            f'<span class="detail">{e(detail)}</span></li>')


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
             f"{_feed(list(agent.bus.recent), 12)}</section>"
             f"{await overview_sections(request)}")
    return await frame(request, "Overview", body, current="/", aside=aside)


@endpoint("GET", "/overview/attention", "The overview's needs-attention list, for live "
          "refresh", tag=PAGE_TAG)
async def attention_fragment(request: web.Request) -> web.Response:
    return html(_attention(request))


async def _panel_body(panel: Any) -> str:
    try:
        data = await asyncio.wait_for(panel.data(), PANEL_TIMEOUT)
    except asyncio.TimeoutError:
        return f'<p class="error">did not answer within {PANEL_TIMEOUT:g}s</p>'
    except Exception as exc:
        return f'<p class="error">{e(SECRETS.redact(f"{type(exc).__name__}: {exc}"))}</p>'
    return render(describe_panel(panel), SECRETS.redact(data))


@endpoint("GET", "/plugin/{name}", "A plugin's page: its checks, panels and actions",
          tag=PAGE_TAG)
async def plugin_page(request: web.Request) -> web.Response:
    agent = agent_of(request)
    name = request.match_info["name"]
    record = agent.manager.records.get(name)
    if record is None:
        raise Problem(404, f"no plugin named {name!r}")
    panels = [p for p in agent.panels.values() if p.name.split(".")[0] == name]
    bodies = await asyncio.gather(*(_panel_body(p) for p in panels))
    panel_html = "".join(
        f'<section class="panel glass" aria-labelledby="p-{e(p.name)}" '
        f'data-refresh="/plugin/{e(name)}/panel/{e(p.name)}" data-plugin="{e(name)}">'
        f'<h3 id="p-{e(p.name)}">{e(p.title or p.name)}</h3>'
        f'<div class="panel-body">{body}</div></section>'
        for p, body in zip(panels, bodies, strict=True))
    admin = principal_of(request).is_admin
    actions = sorted((a for a in agent.actions.actions.values()
                      if a.name.split(".")[0] == name), key=lambda a: a.name)
    forms = "".join(action_form(describe_action(a), admin) for a in actions)
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
    panel = agent_of(request).panels.get(request.match_info["panel"])
    if panel is None or panel.name.split(".")[0] != request.match_info["name"]:
        raise Problem(404, f"no panel named {request.match_info['panel']!r}")
    return html(await _panel_body(panel))


APPROVAL_BADGES = {ApprovalStatus.PENDING: "warning", ApprovalStatus.APPROVED: "ok",
                   ApprovalStatus.DENIED: "critical", ApprovalStatus.EXPIRED: "unknown"}


async def _approvals_table(request: web.Request) -> str:
    admin = principal_of(request).is_admin
    rows = []
    for a in await agent_of(request).actions.approvals(None, 200):
        buttons = ""
        if a["status"] == ApprovalStatus.PENDING and admin:
            rid = e(f"reason-{a['id']}")
            buttons = (
                f'<form class="inline" data-api="/api/v1/approvals/{e(a["id"])}/approve" '
                f'data-confirm="Approve and run {e(a["action"])} now?">'
                # The digest binds the click to the plan on this page: a different
                # request under the same id is refused.
                f'<input type="hidden" name="digest" value="{e(a["digest"])}">'
                f'<button class="btn primary small" type="submit">Approve</button></form> '
                f'<form class="deny" data-api="/api/v1/approvals/{e(a["id"])}/deny" '
                f'data-confirm="Deny {e(a["action"])}?"><label for="{rid}">Reason</label>'
                f'<input id="{rid}" name="reason" maxlength="1000" autocomplete="off" '
                'placeholder="optional, shown in the audit log">'
                '<button class="btn small danger" type="submit">Deny</button></form>')
        state = APPROVAL_BADGES[ApprovalStatus(a["status"])]
        shown = code(a["params"]) + (
            f'<div class="plan"><strong>Will act on</strong>{code(a["plan"])}</div>'
            if a["plan"] is not None else "")
        rows.append((badge(state, a["status"]),
                     e(a["action"]), shown, e(a["requested_by"]),
                     when(a["created"]), e(a["decided_by"] or ""),
                     f'<span class="reason">{e(a.get("reason") or "")}</span>', buttons))
    return table(("Status", "Action", "Parameters", "Requested by", "When", "Decided by",
                  "Reason", ""), rows, "approvals", "No approvals yet.")


@endpoint("GET", "/approvals", "Approvals: pending destructive actions and decisions",
          tag=PAGE_TAG)
async def approvals_page(request: web.Request) -> web.Response:
    body = ('<h1>Approvals</h1><div data-refresh="/approvals/list" data-topics="approval.*">'
            f"{await _approvals_table(request)}</div>")
    return await frame(request, "Approvals", body, current="/approvals")


@endpoint("GET", "/approvals/list", "The approvals table, for live refresh",
          tag=PAGE_TAG)
async def approvals_fragment(request: web.Request) -> web.Response:
    return html(await _approvals_table(request))


OUTCOMES = ("", "ok", "error", "pending_approval", "denied")


def _audit_filters(request: web.Request) -> tuple[str | None, ...]:
    return tuple(request.query.get(k) or None for k in ("actor", "action", "outcome"))


async def _audit_table(request: web.Request) -> str:
    actor, action, outcome = _audit_filters(request)
    rows = await agent_of(request).actions.audit_log(actor, action, outcome, 0, 200)
    return table(("When", "Actor", "Action", "Outcome", "Parameters", "Detail"),
                 ((when(r["ts"]), e(r["actor"]), e(r["action"]), e(r["outcome"]),
                   code(r["params"]), e(r["detail"])) for r in rows), "audit log",
                 "No audit entries match.")


AUDIT_QUERY = {"actor": "exact actor", "action": "exact action", "outcome": "outcome"}


@endpoint("GET", "/audit", "The audit log with filters", query=AUDIT_QUERY, tag=PAGE_TAG)
async def audit_page(request: web.Request) -> web.Response:
    actor, action, outcome = _audit_filters(request)
    options = "".join(f'<option value="{o}"{" selected" if o == (outcome or "") else ""}>'
                      f'{o or "any"}</option>' for o in OUTCOMES)
    form = (
        '<form class="filters glass" method="get" action="/audit">'
        f'<label for="a-actor">Actor</label><input id="a-actor" name="actor" '
        f'value="{e(actor or "")}">'
        f'<label for="a-action">Action</label><input id="a-action" name="action" '
        f'value="{e(action or "")}">'
        f'<label for="a-outcome">Outcome</label><select id="a-outcome" name="outcome">'
        f'{options}</select><button class="btn primary" type="submit">Filter</button></form>')
    body = (f'<h1>Audit log</h1>{form}<div data-refresh="/audit/list?{e(request.query_string)}"'
            f' data-topics="action.* approval.*">{await _audit_table(request)}</div>')
    return await frame(request, "Audit", body, current="/audit")


@endpoint("GET", "/audit/list", "The audit table, for live refresh", query=AUDIT_QUERY,
          tag=PAGE_TAG)
async def audit_fragment(request: web.Request) -> web.Response:
    return html(await _audit_table(request))


@endpoint("GET", "/events", "The live events feed", tag=PAGE_TAG)
async def events_page(request: web.Request) -> web.Response:
    body = f"<h1>Events</h1>{_feed(list(agent_of(request).bus.recent), 200)}"
    return await frame(request, "Events", body, current="/events")


@endpoint("GET", "/static/{file}", "The panel's stylesheet and script (public)",
          role=PUBLIC, tag=PAGE_TAG)
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["file"]
    if name not in ASSETS:
        raise Problem(404, f"no asset {name!r}")
    return web.Response(body=(STATIC / name).read_bytes(), content_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=3600"})
