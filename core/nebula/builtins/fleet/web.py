"""The hub's panel pages: the fleet overview, one host, and the cross-host views (checks
in warning or worse, pending approvals). Rendered from what the pollers last read; the
panel's live event stream carries every host's events (`fleet.event`)."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.builtins.fleet.hub import UnknownHost
from nebula.http.problems import Problem
from nebula.surfaces import WebPage
from nebula.web.html import badge, counts, e, table, when

if TYPE_CHECKING:
    from nebula.builtins.fleet.hub import Hub

STATE_BADGE = {"up": "ok", "down": "critical", "pending": "unknown", "revoked": "unknown"}


def _host_link(name: str) -> str:
    return f'<a href="/fleet/host?name={urllib.parse.quote(name)}">{e(name)}</a>'


def _checks_table(rows: list[dict[str, Any]], with_host: bool) -> str:
    return table(
        (["Host"] if with_host else []) + ["Check", "Status", "Summary"],
        [([_host_link(c["host"])] if with_host else [])
         + [e(c.get("name")), badge(c.get("status")), e(c.get("summary", ""))]
         for c in rows], "checks", "No checks here.")


def pages(hub: Hub) -> list[WebPage]:
    async def overview(_request: web.Request) -> str:
        data = hub.overview()
        rows = [[_host_link(h["name"]), badge(STATE_BADGE.get(h["state"]), h["state"]),
                 counts(h["checks"]), e(h["pending_approvals"]), when(h["last_seen"]),
                 e(h["version"] or ""), e(h["error"])] for h in data["hosts"]]
        return ('<section class="glass"><h1>Fleet</h1>'
                f'<p>{data["count"]} hosts: '
                + ", ".join(f"{e(n)} {e(s)}" for s, n in sorted(data["states"].items()))
                + ' · <a href="/fleet/warnings">checks in warning or worse</a> · '
                '<a href="/fleet/approvals">pending approvals</a></p>'
                + table(["Host", "State", "Checks", "Pending", "Last seen", "Version",
                         "Error"], rows, "hosts", "No host is enrolled yet: nebula fleet "
                        "code, then nebula fleet enroll on the host.")
                + "</section>")

    async def host(request: web.Request) -> str:
        name = request.query.get("name", "")
        try:
            data = hub.host(name)
        except UnknownHost:
            raise Problem(404, f"no enrolled host named {name!r}") from None
        approvals = table(["Approval", "Action", "Requested by", "Params"],
                          [[e(a.get("id")), e(a.get("action")), e(a.get("requested_by")),
                            e(a.get("params"))] for a in data["approvals"]],
                          "pending approvals", "Nothing waits for approval.")
        return (f'<section class="glass"><h1>{e(name)} '
                f'{badge(STATE_BADGE.get(data["state"]), data["state"])}</h1>'
                f'<p>{e(data["url"])} · version {e(data["version"] or "?")} · last seen '
                f'{when(data["last_seen"])} {e(data["error"])}</p>'
                f"<h2>Checks</h2>{_checks_table(data['checks'], False)}"
                f"<h2>Pending approvals</h2>{approvals}</section>")

    async def warnings(_request: web.Request) -> str:
        rows = [c for status in ("critical", "warning") for c in hub.checks(status)]
        return ('<section class="glass"><h1>Checks in warning or worse, every host</h1>'
                f"{_checks_table(rows, True)}</section>")

    async def approvals(_request: web.Request) -> str:
        rows = [[_host_link(a["host"]), e(a.get("id")), e(a.get("action")),
                 e(a.get("requested_by")), e(a.get("params"))] for a in hub.approvals()]
        return ('<section class="glass"><h1>Pending approvals, every host</h1>'
                + table(["Host", "Approval", "Action", "Requested by", "Params"], rows,
                        "pending approvals", "Nothing waits for approval.")
                + "<p class=\"muted\">An admin approves one with nebula fleet approve HOST "
                  "ID, or POST /api/v1/fleet/hosts/HOST/approvals/ID/approve.</p></section>")

    return [WebPage("Fleet", overview, nav=True),
            WebPage("Fleet host", host, path="/host"),
            WebPage("Fleet warnings", warnings, path="/warnings"),
            WebPage("Fleet approvals", approvals, path="/approvals")]
