"""The hub's panel pages: the fleet overview, one host, and the cross-host views (checks
in warning or worse, pending approvals). Each page's content is also served alone under
`/fleet/part/…` and marked `data-refresh` for the panel's script, which fetches it again
when a `fleet.host.*` event comes (a host went up or down, its checks or approvals
changed, it was enrolled or removed): the pages follow the fleet live."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.builtins.fleet.hub import NoRight, UnknownHost
from nebula.http.keys import principal_of
from nebula.http.problems import Problem
from nebula.surfaces import PAGE_TAG, Endpoint, WebPage
from nebula.web.html import badge, counts, e, table, when
from nebula.web.pages import html

if TYPE_CHECKING:
    from nebula.builtins.fleet.hub import Hub

STATE_BADGE = {"up": "ok", "down": "critical", "pending": "unknown", "revoked": "unknown"}
LIVE_TOPICS = "fleet.host.*"


def _host_link(name: str) -> str:
    return f'<a href="/fleet/host?name={urllib.parse.quote(name)}">{e(name)}</a>'


def _checks_table(rows: list[dict[str, Any]], with_host: bool) -> str:
    return table(
        (["Host"] if with_host else []) + ["Check", "Status", "Summary"],
        [([_host_link(c["host"])] if with_host else [])
         + [e(c.get("name")), badge(c.get("status")), e(c.get("summary", ""))]
         for c in rows], "checks", "No checks here.")


def _approvals_table(rows: list[dict[str, Any]], with_host: bool) -> str:
    return table(
        (["Host"] if with_host else []) + ["Approval", "Action", "Requested by", "Params"],
        [([_host_link(a["host"])] if with_host else [])
         + [e(a.get("id")), e(a.get("action")), e(a.get("requested_by")), e(a.get("params"))]
         for a in rows], "pending approvals", "Nothing waits for approval.")


Part = Callable[[web.Request], str]


def parts(hub: Hub) -> dict[str, Part]:
    """Each page's content by name: rendered inside the page, and alone for a refresh."""

    def overview(request: web.Request) -> str:
        data = hub.overview(principal_of(request).name)
        rows = [[_host_link(h["name"]), badge(STATE_BADGE.get(h["state"]), h["state"]),
                 counts(h["checks"]), e(h["pending_approvals"]), when(h["last_seen"]),
                 e(h["version"] or ""), e(h["error"])] for h in data["hosts"]]
        return (f'<p>{data["count"]} hosts: '
                + ", ".join(f"{e(n)} {e(s)}" for s, n in sorted(data["states"].items()))
                + "</p>"
                + table(["Host", "State", "Checks", "Pending", "Last seen", "Version",
                         "Error"], rows, "hosts", "No host is enrolled yet: nebula fleet "
                        "code, then nebula fleet enroll on the host."))

    def host(request: web.Request) -> str:
        name = request.query.get("name", "")
        try:
            data = hub.host(name, principal_of(request).name)
        except UnknownHost:
            raise Problem(404, f"no enrolled host named {name!r}") from None
        except NoRight as exc:
            raise Problem(403, str(exc)) from None
        return (f'<p>{badge(STATE_BADGE.get(data["state"]), data["state"])} '
                f'{e(data["url"])} · version {e(data["version"] or "?")} · last seen '
                f'{when(data["last_seen"])} {e(data["error"])}</p>'
                f"<h2>Checks</h2>{_checks_table(data['checks'], False)}"
                f"<h2>Pending approvals</h2>{_approvals_table(data['approvals'], False)}")

    def warnings(request: web.Request) -> str:
        caller = principal_of(request).name
        rows = [c for status in ("critical", "warning") for c in hub.checks(status, caller)]
        return _checks_table(rows, True)

    def approvals(request: web.Request) -> str:
        return _approvals_table(hub.approvals(principal_of(request).name), True)

    return {"overview": overview, "host": host, "warnings": warnings, "approvals": approvals}


def _page(name: str, part: Part, title: Callable[[web.Request], str], after: str = ""
          ) -> Callable[[web.Request], Awaitable[str]]:
    async def render(request: web.Request) -> str:
        query = f"?{request.query_string}" if request.query_string else ""
        body = part(request)  # first: an unknown host is a 404, not an empty page
        return (f'<section class="glass"><h1>{e(title(request))}</h1>'
                f'<div data-refresh="/fleet/part/{name}{e(query)}" '
                f'data-topics="{LIVE_TOPICS}">{body}</div>{after}</section>')

    return render


def pages(hub: Hub) -> list[WebPage | Endpoint]:
    found = parts(hub)
    links = ('<p><a href="/fleet/warnings">Checks in warning or worse</a> · '
             '<a href="/fleet/approvals">Pending approvals</a></p>')
    approve_hint = ('<p class="muted">An admin approves one with nebula fleet approve HOST '
                    "ID, or POST /api/v1/fleet/hosts/HOST/approvals/ID/approve.</p>")

    def fragment(part: Part) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            return html(part(request))
        return serve

    return [
        WebPage("Fleet", _page("overview", found["overview"], lambda _r: "Fleet", links),
                nav=True),
        WebPage("Fleet host", _page("host", found["host"],
                                    lambda r: r.query.get("name", "")), path="/host"),
        WebPage("Fleet warnings", _page("warnings", found["warnings"],
                                        lambda _r: "Checks in warning or worse, every host"),
                path="/warnings"),
        WebPage("Fleet approvals", _page("approvals", found["approvals"],
                                         lambda _r: "Pending approvals, every host",
                                         approve_hint), path="/approvals"),
        *(Endpoint("GET", f"/part/{name}", fragment(part), f"The fleet {name} view, for "
                   "live refresh", tag=PAGE_TAG) for name, part in found.items()),
    ]
