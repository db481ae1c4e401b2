"""Status pages: what one shows, built from the checks an admin chose for it and nothing
else, and kept for `cache_seconds` so a public page under load costs the agent one build
per period whatever the request rate.

A page shows, per chosen check, its display name, its state now (ok, warning, critical,
unknown or maintenance, in words), its uptime over 90 days and one bar per day; and the
incidents of its checks over 30 days with the notes admins added. It never shows a check's
summary, its metrics or its internal name: the JSON and HTML are made from the same
dictionary, which holds only those things.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.helpers.uptime import DAY, WINDOWS, incidents_of, uptime_of
from nebula.history import KINDS
from nebula.units import duration
from nebula.web.html import e

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.context import KeyValue

DAYS = 90
GAUGE_AGE = 60.0
INCIDENT_DAYS = 30
MAX_INCIDENTS = 20


def note_key(check: str, start: float) -> str:
    return f"note:{check}:{int(start)}"


def day_state(seconds: dict[str, float]) -> str:
    """A day's bar: no data, all maintenance, or by the share of known time that was ok."""
    known = seconds["ok"] + seconds["warning"] + seconds["critical"]
    if not known:
        return "maintenance" if seconds["maintenance"] else "none"
    share = seconds["ok"] / known
    return "ok" if share >= 0.999 else "warning" if share >= 0.95 else "critical"


@dataclass
class Built:
    expires: float
    data: dict[str, Any]
    json: bytes
    html: str


@dataclass
class StatusPages:
    """The configured pages and their cache (the uptime plugin's runtime holds one)."""

    agent: Agent
    kv: KeyValue
    pages: dict[str, dict[str, Any]]
    _built: dict[str, Built] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Uptime ratio per (check, window) for /metrics: scrapes come every few seconds and
    # 200 checks x 4 windows is a few hundred ms of reads, so they share one per minute.
    gauges: dict[tuple[str, str], float] = field(default_factory=dict)
    _gauges_at: float = float("-inf")
    _gauges_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def fresh_gauges(self, max_age: float = GAUGE_AGE) -> dict[tuple[str, str], float]:
        async with self._gauges_lock:
            if time.monotonic() - self._gauges_at >= max_age:
                await self.agent.health.flush()
                now, found = time.time(), {}
                checks = list(self.agent.health.checks)
                for window, length in WINDOWS.items():
                    seconds = await self.agent.history.status_seconds_of(
                        checks, now - length, now)
                    for check, by_status in seconds.items():
                        if (ratio := uptime_of(window, by_status, length).uptime) is not None:
                            found[(check, window)] = ratio
                self.gauges, self._gauges_at = found, time.monotonic()
        return self.gauges

    def invalidate(self) -> None:
        self._built.clear()

    async def get(self, slug: str) -> Built:
        """The page, built at most once per `cache_seconds` however many ask at once."""
        page = self.pages[slug]
        lock = self._locks.setdefault(slug, asyncio.Lock())
        async with lock:
            built = self._built.get(slug)
            if built is None or built.expires <= time.monotonic():
                data = await self._data(page)
                built = Built(time.monotonic() + page["cache_seconds"], data,
                              json.dumps(data).encode(), render(page, data))
                self._built[slug] = built
            return built

    def _state(self, check: str) -> str:
        state = self.agent.health.checks.get(check)
        if state is None or state.state is None:
            return "unknown"
        return "maintenance" if self.agent.health.in_maintenance(state) else state.state.value

    async def _days(self, check: str, now: float) -> dict[str, Any]:
        """The state of each of the last DAYS days (UTC), oldest first."""
        first = (now // DAY - DAYS + 1) * DAY
        by_day = await self.agent.history.daily_seconds(check, first)
        empty = dict.fromkeys(KINDS, 0.0)
        return {"first": time.strftime("%Y-%m-%d", time.gmtime(first)),
                "states": [day_state(by_day.get(int(first + i * DAY), empty))
                           for i in range(DAYS)]}

    async def _data(self, page: dict[str, Any]) -> dict[str, Any]:
        await self.agent.health.flush()
        history, now = self.agent.history, time.time()
        groups: list[dict[str, Any]] = []
        incidents: list[dict[str, Any]] = []
        states: list[str] = []
        quarter = await history.status_seconds_of(
            [item["check"] for group in page["groups"] for item in group["checks"]],
            now - WINDOWS["90d"], now)
        for group in page["groups"]:
            checks = []
            for item in group["checks"]:
                check = item["check"]
                known = self.agent.health.checks.get(check)
                name = item.get("name") or (known.check.title if known and known.check.title
                                            else check)
                state = self._state(check)
                states.append(state)
                checks.append({"name": name, "state": state,
                               "uptime_90d": uptime_of("90d", quarter[check],
                                                       WINDOWS["90d"]).uptime,
                               "days": await self._days(check, now)})
                spans = await history.spans(check, now - INCIDENT_DAYS * DAY, now)
                for incident in incidents_of(check, spans):
                    notes = await self.kv.get(note_key(check, incident.start), [])
                    incidents.append({"name": name, "start": incident.start,
                                      "end": incident.end, "duration": incident.duration,
                                      "worst": incident.worst,
                                      "notes": [n["text"] for n in notes]})
            groups.append({"name": group["name"], "checks": checks})
        incidents.sort(key=lambda i: i["start"], reverse=True)
        return {"title": page["title"], "description": page["description"],
                "logo": page.get("logo"), "overall": overall(states), "updated": now,
                "groups": groups, "incidents": incidents[:MAX_INCIDENTS]}


def overall(states: list[str]) -> str:
    if "critical" in states:
        return "outage"
    if "warning" in states or "unknown" in states:
        return "degraded"
    if "maintenance" in states:
        return "maintenance"
    return "operational"


HEADLINES = {"operational": ("ok", "All systems operational"),
             "degraded": ("warning", "Some systems are degraded"),
             "outage": ("critical", "Some systems are down"),
             "maintenance": ("maintenance", "Planned maintenance in progress")}


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.2f} %"


def _clock(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _bars(days: dict[str, Any]) -> str:
    """A bar per day, days in a row in one state drawn as one wider bar (`wN` grows it N
    days), so a quiet quarter is one element, not ninety."""
    first = time.mktime(time.strptime(days["first"], "%Y-%m-%d")) + 12 * 3600
    out, states = [], days["states"]
    start = 0
    for index in range(1, len(states) + 1):
        if index < len(states) and states[index] == states[start]:
            continue
        span = (time.strftime("%Y-%m-%d", time.localtime(first + start * DAY))
                + ("" if index - start == 1 else " to " + time.strftime(
                    "%Y-%m-%d", time.localtime(first + (index - 1) * DAY))))
        out.append(f'<li class="day day-{e(states[start])} w{index - start}" '
                   f'title="{e(span)}: {e(states[start])}"></li>')
        start = index
    return "".join(out)


def render(page: dict[str, Any], data: dict[str, Any]) -> str:
    """The page's main area (the plugin's frame adds the document around it)."""
    status, headline = HEADLINES[data["overall"]]
    logo = (f'<img class="status-logo" src="{e(data["logo"])}" alt="" width="48" height="48">'
            if data["logo"] else "")
    groups = []
    for group in data["groups"]:
        rows = []
        for check in group["checks"]:
            bars = _bars(check["days"])
            rows.append(
                f'<li class="status-row"><span class="name">{e(check["name"])}</span> '
                f'<span class="badge status-{e(check["state"])}">{e(check["state"])}</span> '
                f'<span class="uptime">{e(_percent(check["uptime_90d"]))} over 90 days'
                f'</span><ol class="days" aria-label="{e(check["name"])}, one bar per day">'
                f"{bars}</ol></li>")
        groups.append(f'<section class="glass card" aria-label="{e(group["name"])}">'
                      f'<h2>{e(group["name"])}</h2><ul class="status-rows">{"".join(rows)}'
                      "</ul></section>")
    incidents = "".join(
        f'<li><span class="badge status-{e(i["worst"])}">{e(i["worst"])}</span> '
        f'<strong>{e(i["name"])}</strong> {e(_clock(i["start"]))}, '
        + (f"lasted {e(duration(i['duration']))}" if i["end"] is not None else "ongoing")
        + "".join(f'<p class="note">{e(n)}</p>' for n in i["notes"]) + "</li>"
        for i in data["incidents"])
    return (f'<header class="status-head">{logo}<h1>{e(data["title"])}</h1></header>'
            + (f'<p>{e(data["description"])}</p>' if data["description"] else "")
            + f'<p class="headline status-{status}"><span class="badge status-{status}">'
              f"{e(headline)}</span></p>{''.join(groups)}"
            + '<section class="glass card"><h2>Incidents, last 30 days</h2>'
            + (f'<ol class="incidents">{incidents}</ol>' if incidents else
               "<p>No incidents.</p>")
            + f'</section><p class="muted">Updated {e(_clock(data["updated"]))}.</p>')
