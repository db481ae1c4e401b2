"""A page per check (`/checks/<name>`), linked from every tile: its status now and over the
chosen range (1 h, 24 h, 7 d, 30 d), a chart per metric from the stored history, what it
measures and how often, the remediation policies that watch it, the actions of its plugin
that fix it, and its recent results."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aiohttp import web

from nebula.helpers.uptime import report
from nebula.http.endpoints import endpoint
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem
from nebula.surfaces import PAGE_TAG
from nebula.units import Unit, duration, human, plural
from nebula.views import describe_action
from nebula.web.charts import metric_chart, status_timeline
from nebula.web.html import action_form, badge, e, table, when
from nebula.web.pages import frame

CURRENT = ' aria-current="page"'
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
RECENT = 20


def _ranges(name: str, chosen: str) -> str:
    links = "".join(
        f'<li><a href="/checks/{e(name)}?range={key}"'
        f'{CURRENT if key == chosen else ""}>{key}</a></li>'
        for key in RANGES)
    return f'<nav class="ranges" aria-label="time range"><ul>{links}</ul></nav>'


def _policies(request: web.Request, name: str) -> str:
    rules = [r for r in agent_of(request).config.sections.get("remediation") or []
             if isinstance(r, dict) and r.get("check") == name]
    if not rules:
        return '<p class="muted">No remediation policy watches this check.</p>'
    return table(("Policy", "When", "Runs", "At most"),
                 ((e(r["name"]), e(f"{r.get('cycles', 3)} results {r.get('status', 'critical')}"
                                   " in a row"),
                   e(r["action"]) + ("" if r.get("enabled", True) else " (off)"),
                   e(f"{r.get('max_runs_per_hour', 3)} per hour"))
                  for r in rules), "remediation policies")


def _uptime(found: dict[str, Any]) -> str:
    def percent(value: float | None) -> str:
        return "no data" if value is None else f"{value * 100:.2f} %"

    rows = ((e(w), percent(u["uptime"]), e(duration(u["down_s"])), e(duration(u["unknown_s"])),
             e(duration(u["maintenance_s"]))) for w, u in found["uptime"].items())
    ended = found["mttr"]
    return (table(("Window", "Uptime", "Down", "Unknown", "Maintenance"), rows, "uptime")
            + f'<p class="muted">{e(plural(len(found["incidents"]), "incident"))} in 90 days'
            + (f"; mean time to recover {e(duration(ended))}" if ended is not None else "")
            + "</p>")


def _recent(rows: list[dict[str, Any]], units: dict[str, Unit | None]) -> str:
    def metrics(values: dict[str, Any]) -> str:
        return ", ".join(f"{e(k)} {e(human(v, units.get(k)))}" for k, v in values.items())

    return table(("When", "Result", "Summary", "Metrics", "Took"),
                 ((when(r["ts"]), badge(r["status"]), e(r["summary"]),
                   metrics(r["metrics"]), e(human((r["duration_ms"] or 0) / 1000,
                                                  Unit.SECONDS)))
                  for r in rows), "recent results", "No results yet.")


@endpoint("GET", "/checks/{name}", "A check's page: status over time, metric charts, what "
          "fixes it, recent results", query={"range": "1h, 24h (default), 7d or 30d"},
          tag=PAGE_TAG)
async def check_page(request: web.Request) -> web.Response:
    agent = agent_of(request)
    name = request.match_info["name"]
    state = agent.health.checks.get(name)
    if state is None:
        raise Problem(404, f"no check named {name!r}")
    chosen = request.query.get("range", "24h")
    if chosen not in RANGES:
        raise Problem(422, f"range must be one of {', '.join(RANGES)}")
    check = state.public()
    until = time.time()
    since = until - RANGES[chosen]
    await agent.health.flush()  # results wait to be written in batches; show them all
    history = agent.history
    units = {metric: await history.unit(name, metric)
             for _, metric in await history.metrics(name)}
    charts = []
    for metric, unit in units.items():
        samples = await history.series(name, metric, since, until, points=240)
        charts.append(metric_chart(samples, partial(human, unit=unit),
                                   label=metric.replace("_", " "), since=since, until=until))
    spans = await history.spans(name, since, until)
    admin = principal_of(request).is_admin
    plugin = check["plugin"]
    fixes = "".join(action_form(describe_action(a), admin)
                    for a in sorted(agent.actions.actions.values(), key=lambda a: a.name)
                    if a.name.split(".")[0] == plugin)
    since_text = f" since {when(check['since'])}" if check["since"] else ""
    body = (
        f'<p class="crumbs"><a href="/plugin/{e(plugin)}">{e(plugin)}</a></p>'
        f'<h1>{e(check["title"])}</h1>'
        f'<p class="now">{badge(check["status"])}{since_text} · '
        f'<span class="summary">{e(check["status_summary"])}</span></p>'
        f'<section class="glass card" aria-labelledby="about-h"><h2 id="about-h">What it '
        f'checks</h2><p>{e(check["description"] or "No description given by its plugin.")}'
        f'</p><p class="muted">{e(name)} · runs every '
        f'{e(duration(check["interval"]))} · a change is reported after '
        f'{e(str(state.flap_threshold))} result(s) in a row · last run '
        f'{when(check["last_run"])}</p></section>'
        f'<section aria-labelledby="hist-h"><h2 id="hist-h">History</h2>'
        f'{_ranges(name, chosen)}'
        + status_timeline(spans, since=since, until=until, fmt_duration=duration)
        + "".join(charts) + "</section>"
        f'<section aria-labelledby="up-h"><h2 id="up-h">Uptime</h2>'
        f"{_uptime(await report(history, name, until))}</section>"
        '<section aria-labelledby="fix-h"><h2 id="fix-h">What fixes it</h2>'
        f"{_policies(request, name)}"
        + (f'<div class="actions">{fixes}</div>' if fixes else
           '<p class="muted">Its plugin has no actions.</p>') + "</section>"
        f'<section aria-labelledby="recent-h"><h2 id="recent-h">Recent results</h2>'
        f"{_recent(await agent.health.results(name, limit=RECENT), units)}</section>")
    return await frame(request, check["title"], body, current="/")
