"""What the advisor suggests, each with its evidence, an estimated gain and, where one
exists, the action that applies it (filed through the approval gate like any other call).

Sources, each optional (a plugin that is not running gives no advice and no error):
- the stored history: disk full forecasts per mount (`disk.<mount>.percent` of any check),
  growth per database (`<db>.size_bytes` of the postgres plugin's checks), and per
  container (the docker plugin's `docker.usage`) memory that keeps growing and CPU idle
  for a week;
- the docker plugin's `docker.resources` (read-only): containers without a memory limit,
  dangling images, container logs taking space;
- the postgres plugin's `postgres.advice` (read-only): unused indexes, dead rows waiting
  for a vacuum, tables never analyzed, connection headroom.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from nebula.api import ParamError, PluginContext, Unit, human
from nebula_advisor.trend import DAY, Trend, theil_sen

DISK = re.compile(r"^disk\.(?P<mount>.+)\.percent$")
DATABASE = re.compile(r"^(?P<db>[^.]+)\.size_bytes$")
CONTAINER = re.compile(r"^(?P<name>.+)\.(?P<kind>memory_bytes|cpu_percent)$")


@dataclass(frozen=True)
class Suggestion:
    kind: str
    target: str
    severity: str  # "warning" (act soon) or "info"
    title: str
    evidence: str  # in words; `chart` links the history it comes from
    gain: str
    chart: str = ""
    eta_days: float | None = None  # a forecast's days until the limit
    action: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return asdict(self)


async def forecasts(ctx: PluginContext, now: float) -> list[Suggestion]:
    config, found = ctx.config, []
    since = now - config["history_days"] * DAY
    for check, metric in await ctx.history.metrics():
        if (disk := DISK.match(metric)) is not None:
            found += await _disk(ctx, check, metric, disk["mount"], since, now)
        elif check.startswith("postgres.") and (db := DATABASE.match(metric)) is not None:
            found += await _database(ctx, check, metric, db["db"], since, now)
        elif check == "docker.usage" and (c := CONTAINER.match(metric)) is not None:
            found += await (_memory if c["kind"] == "memory_bytes" else _idle)(
                ctx, check, metric, c["name"], since, now)
    return found


async def _memory(ctx: PluginContext, check: str, metric: str, name: str, since: float,
                  now: float) -> list[Suggestion]:
    """Memory that keeps growing over the recent week: a leak, caught before it is an
    out-of-memory kill."""
    recent, _ = await _recent_trend(ctx, check, metric, since, now, whole=False)
    if recent is None or recent.slope_per_day <= 0:
        return []
    week = min(7.0, recent.span_days)
    before = recent.level - recent.slope_per_day * week
    growth = recent.slope_per_day * week / before if before > 0 else 0.0
    if growth < ctx.config["memory_growth_share"]:
        return []
    return [Suggestion("memory_growth", name, "info",
                       f"container {name}'s memory grew {growth * 100:.0f} % in "
                       f"{week:.0f} days",
                       f"{human(recent.level, Unit.BYTES)} now, "
                       f"{human(recent.slope_per_day, Unit.BYTES)} more each day",
                       "A leak caught early: restart it, and bound it with mem_limit",
                       chart=f"/checks/{check}?range=7d", action="docker.restart",
                       params={"container": name})]


async def _idle(ctx: PluginContext, check: str, metric: str, name: str, since: float,
                now: float) -> list[Suggestion]:
    """A container whose CPU never rose above `idle_cpu_percent` for `idle_days`."""
    days = ctx.config["idle_days"]
    samples = await ctx.history.series(check, metric, now - days * DAY, now, points=4 * days)
    if not samples or now - samples[0].ts < (days - 0.5) * DAY:
        return []  # not watched long enough to say
    busiest = max(s.max for s in samples)
    if busiest >= ctx.config["idle_cpu_percent"]:
        return []
    return [Suggestion("idle_container", name, "info",
                       f"container {name} has been idle for {days} days",
                       f"its CPU never rose above {busiest:.2f} % of a core",
                       "Its memory and a little attack surface back: stop it if nobody "
                       "uses it", chart=f"/checks/{check}?range=7d", action="docker.stop",
                       params={"container": name})]


async def _recent_trend(ctx: PluginContext, check: str, metric: str, since: float,
                        now: float, whole: bool = True) -> tuple[Trend | None, Trend | None]:
    """The trend over the recent `trend_days` and (with `whole`) over all of
    `history_days`. The fits are quadratic in points, so they run in a thread, not on the
    loop."""
    # 4-hour points for the recent week, daily ones for the month: enough for a slope
    # (tested within 10 % through noise and spikes), and a few hundred pairs to fit.
    recent = await ctx.history.series(check, metric, now - ctx.config["trend_days"] * DAY,
                                      now, points=6 * ctx.config["trend_days"])
    longer = await ctx.history.series(check, metric, since, now,
                                      points=ctx.config["history_days"]) if whole else []
    return await asyncio.to_thread(lambda: (theil_sen(recent), theil_sen(longer)))


async def _disk(ctx: PluginContext, check: str, metric: str, mount: str, since: float,
                now: float) -> list[Suggestion]:
    recent, longer = await _recent_trend(ctx, check, metric, since, now)
    trend = recent or longer
    if trend is None or (days := trend.days_until(100.0)) is None:
        return []
    if days > ctx.config["horizon_days"]:
        return []
    urgent = days <= ctx.config["warning_days"]
    evidence = (f"{trend.level:.1f} % used, growing {trend.slope_per_day:.2f} points a day "
                f"over the last {trend.span_days:.0f} days")
    if longer is not None and longer is not trend:
        evidence += f" ({longer.slope_per_day:.2f} a day over {longer.span_days:.0f} days)"
    return [Suggestion("disk_full", mount, "warning" if urgent else "info",
                       f"{mount} full in {human(days * DAY, Unit.SECONDS)}", evidence,
                       "Room to act before writes fail: prune images, move data or grow "
                       "the volume", chart=f"/checks/{check}?range=30d", eta_days=days)]


async def _database(ctx: PluginContext, check: str, metric: str, db: str, since: float,
                    now: float) -> list[Suggestion]:
    recent, longer = await _recent_trend(ctx, check, metric, since, now)
    trend = recent or longer
    if trend is None or trend.slope_per_day <= 0:
        return []
    share = trend.slope_per_day / trend.level if trend.level else 0.0
    if share < ctx.config["database_growth_share"]:
        return []
    month = trend.level + 30 * trend.slope_per_day
    return [Suggestion("database_growth", db, "info",
                       f"database {db} grows {human(trend.slope_per_day, Unit.BYTES)} a day",
                       f"{human(trend.level, Unit.BYTES)} now, "
                       f"{human(month, Unit.BYTES)} in 30 days at this rate",
                       "Find the table that grows (unused indexes and dead rows below)",
                       chart=f"/checks/{check}?range=30d")]


async def _peer(ctx: PluginContext, action: str) -> dict[str, Any] | None:
    """A read-only action of another plugin, or None when it is not there to ask."""
    try:
        outcome = await ctx.call_action(action, {})
    except (ParamError, LookupError):  # not there (ActionNotFound is a KeyError)
        return None
    if outcome.get("status") != "ok":
        return None
    result = outcome.get("result")
    return result if isinstance(result, dict) else None


async def containers(ctx: PluginContext) -> list[Suggestion]:
    found = await _peer(ctx, "docker.resources")
    if found is None:
        return []
    out = [Suggestion("no_memory_limit", c["name"], "info",
                      f"container {c['name']} has no memory limit",
                      f"uses {human(c['memory_bytes'], Unit.BYTES)} now ({c['image']}); "
                      "one leak can take the host's memory",
                      "A bounded container: set mem_limit in its compose file")
           for c in found.get("containers", []) if not c.get("memory_limit_bytes")]
    dangling = found.get("dangling_images", [])
    if dangling:
        size = sum(i["size_bytes"] for i in dangling)
        out.append(Suggestion("dangling_images", "images", "info",
                              f"{len(dangling)} dangling images",
                              "untagged images no container uses",
                              f"{human(size, Unit.BYTES)} of disk",
                              action="docker.prune", params={"volumes": False}))
    for c in found.get("containers", []):
        if c.get("log_bytes", 0) >= ctx.config["log_bytes_warning"]:
            out.append(Suggestion("container_logs", c["name"], "info",
                                  f"container {c['name']}'s log is "
                                  f"{human(c['log_bytes'], Unit.BYTES)}",
                                  "the engine keeps its output without rotation",
                                  f"{human(c['log_bytes'], Unit.BYTES)} of disk: set a "
                                  "log size limit (logging max-size)"))
    return out


async def database_upkeep(ctx: PluginContext) -> list[Suggestion]:
    found = await _peer(ctx, "postgres.advice")
    if found is None:
        return []
    out = [Suggestion("unused_index", f"{i['database']}.{i['index']}", "info",
                      f"index {i['index']} on {i['database']}.{i['table']} is never used",
                      f"0 scans since statistics were reset; {human(i['size_bytes'], Unit.BYTES)}",
                      f"{human(i['size_bytes'], Unit.BYTES)} of disk and faster writes: "
                      f"DROP INDEX {i['index']}")
           for i in found.get("unused_indexes", [])]
    out += [Suggestion("dead_rows", f"{t['database']}.{t['table']}", "info",
                       f"{t['database']}.{t['table']} needs a vacuum",
                       f"{t['dead_rows']:,} dead rows ({t['dead_share'] * 100:.0f} % of the "
                       "table) waiting", "Space reused and faster scans",
                       action="postgres.vacuum", params={"database": t["database"]})
            for t in found.get("dead_rows", [])]
    out += [Suggestion("never_analyzed", f"{t['database']}.{t['table']}", "info",
                       f"{t['database']}.{t['table']} was never analyzed",
                       "the planner guesses its row counts", "Better query plans",
                       action="postgres.vacuum", params={"database": t["database"]})
            for t in found.get("never_analyzed", [])]
    conns = found.get("connections")
    if conns and conns["max"] and conns["used"] / conns["max"] >= 0.8:
        out.append(Suggestion("connection_headroom", "postgres", "warning",
                              f"{conns['used']} of {conns['max']} connections in use",
                              "new clients are refused once max_connections is reached",
                              "Headroom: a pooler (pgbouncer) or a higher max_connections"))
    return out


async def advise(ctx: PluginContext, now: float | None = None) -> list[Suggestion]:
    """One pass over every source, warnings first."""
    now = time.time() if now is None else now
    found = [*await forecasts(ctx, now), *await containers(ctx), *await database_upkeep(ctx)]
    return sorted(found, key=lambda s: (s.severity != "warning", s.kind, s.target))
