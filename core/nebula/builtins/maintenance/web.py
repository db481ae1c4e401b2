"""The panel's Maintenance page: every window with its state, a stop button on each open
one and a form to open an ad-hoc window (both for admins; they post to the API). The list
is served alone under /maintenance/part too and refreshed by the panel's script when a
`maintenance.*` event comes (a window opened or closed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.http.keys import principal_of
from nebula.surfaces import PAGE_TAG, Endpoint, WebPage
from nebula.web.html import badge, e, table, when
from nebula.web.pages import html

if TYPE_CHECKING:
    from nebula.builtins.maintenance.engine import Maintenance

LIVE_TOPICS = "maintenance.*"

START_FORM = (
    '<form class="glass" data-api="/api/v1/maintenance/start" '
    'data-confirm="Open a maintenance window now?"><h2>Start a window</h2>'
    '<label for="mw-duration">Duration</label><input id="mw-duration" name="duration" '
    'value="1h" required autocomplete="off"><small>30m, 2h, 1h30m…</small>'
    '<label for="mw-checks">Checks</label><input id="mw-checks" name="checks" '
    'autocomplete="off" placeholder="docker.*, system.disk"><small>Names or patterns, '
    'comma-separated; empty with no plugins: every check.</small>'
    '<label for="mw-plugins">Plugins</label><input id="mw-plugins" name="plugins" '
    'autocomplete="off" placeholder="docker">'
    '<label for="mw-reason">Reason</label><input id="mw-reason" name="reason" '
    'maxlength="500" autocomplete="off">'
    '<button class="btn primary" type="submit">Start</button></form>')


def _covers(window: dict[str, Any]) -> str:
    targets = window["targets"]
    if targets["all"]:
        return "every check"
    return e(", ".join([*targets["checks"], *(f"plugin {p}" for p in targets["plugins"])]))


def _when(window: dict[str, Any]) -> str:
    if window["open"]:
        return f"until {when(window['end'])}"
    if window["next_start"]:
        return f"next {when(window['next_start'])} to {when(window['next_end'])}"
    return "over"


def windows_table(maintenance: Maintenance, admin: bool) -> str:
    rows = []
    for w in maintenance.snapshot():
        state = ("open", "warning") if w["open"] else (
            ("disabled", "unknown") if not w["enabled"] else ("closed", "ok"))
        stop = (f'<form class="inline" data-api="/api/v1/maintenance/{e(w["name"])}/stop" '
                f'data-confirm="Close {e(w["name"])} now?"><button class="btn small" '
                'type="submit">Stop</button></form>' if admin and w["open"] else "")
        schedule = (f'{e(w["cron"])} ({e(w["timezone"])}), {e(w["duration"])} s'
                    if w["cron"] else "once")
        rows.append((e(w["name"]), badge(state[1], state[0]), _when(w), schedule,
                     _covers(w), e(len(w["checks"])), e(w["reason"]), e(w["source"]), stop))
    return table(("Window", "State", "When", "Schedule", "Covers", "Checks", "Reason",
                  "Source", ""), rows, "maintenance windows",
                 "No maintenance window: add [[maintenance]] to the config, or start one.")


def pages(maintenance: Maintenance) -> list[WebPage | Endpoint]:
    def part(request: web.Request) -> str:
        admin = principal_of(request).is_admin
        return windows_table(maintenance, admin) + (START_FORM if admin else "")

    async def render(request: web.Request) -> str:
        return ('<section class="glass"><h1>Maintenance</h1><p class="muted">Checks in an '
                "open window still run and are kept, marked; their notifications and "
                "remediation wait, and a check still failing when the window closes is "
                "told then.</p>"
                f'<div data-refresh="/maintenance/part" data-topics="{LIVE_TOPICS}">'
                f"{part(request)}</div></section>")

    async def fragment(request: web.Request) -> web.Response:
        return html(part(request))

    return [WebPage("Maintenance", render, nav=True),
            Endpoint("GET", "/part", fragment, "The maintenance windows, for live refresh",
                     tag=PAGE_TAG)]
