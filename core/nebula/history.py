"""Metric and status history: what every stored check result leaves behind, bounded.

The stored results (`check_results`) are the raw tier, kept RAW_KEEP (48 h). Each numeric
metric of a result also feeds a 5-minute and an hourly rollup (min, sum, max and count per
bucket, so merging a batch into a bucket is exact), kept 30 and 365 days. Each result also
extends its check's status span (a new span starts when the status or the maintenance flag
changes), and the time from one result to the next goes to the hourly status rollup of the
earlier one's status, or to `maintenance` (and to the daily status rollup, so 90 days of
uptime read 90 rows, not 2,160). A gap longer than STALE_INTERVALS intervals (the
agent stopped) closes the span at its last result: unmeasured time belongs to no status.
The health engine writes all of it in the transaction that stores the results (`plan`,
then `Store.batch`); `prune` runs hourly. docs/history.md has the bounds and sizes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nebula.contributions import Sample, Span, Status
from nebula.store import Store
from nebula.units import Unit

RAW_KEEP = 2 * 86400.0
# (table, bucket seconds, kept seconds), finest first.
TIERS = (("history_5m", 300, 30 * 86400.0), ("history_1h", 3600, 365 * 86400.0))
STATUS_KEEP = 365 * 86400.0
STATUS_TIERS = (("status_hourly", 3600), ("status_daily", 86400))
STALE_INTERVALS, STALE_MIN = 3, 300.0
KINDS = ("ok", "warning", "critical", "unknown", "maintenance")
Statement = tuple[str, list[tuple[Any, ...]]]
Seconds = dict[tuple[str, str, int], list[float]]  # (table, check, bucket) → per KINDS


def _merge(table: str) -> str:
    """Add a batch's (min, sum, max, n) to a bucket: CASE, not min()/LEAST, so SQLite and
    PostgreSQL read it alike."""
    return (f"INSERT INTO {table} (series, bucket, vmin, vsum, vmax, n) VALUES (?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT (series, bucket) DO UPDATE SET "
            f"vmin = CASE WHEN excluded.vmin < {table}.vmin THEN excluded.vmin "
            f"ELSE {table}.vmin END, vsum = {table}.vsum + excluded.vsum, "
            f"vmax = CASE WHEN excluded.vmax > {table}.vmax THEN excluded.vmax "
            f"ELSE {table}.vmax END, n = {table}.n + excluded.n")


def _status_merge(table: str) -> str:
    return (f"INSERT INTO {table} (check_name, bucket, ok_s, warning_s, critical_s, unknown_s, "
            "maintenance_s) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (check_name, bucket) DO "
            "UPDATE SET " + ", ".join(f"{k}_s = {table}.{k}_s + excluded.{k}_s" for k in KINDS))


SPAN_OPEN = ("INSERT INTO status_spans (check_name, start_ts, end_ts, seen, status, summary, "
             "maintenance) VALUES (?, ?, NULL, ?, ?, ?, ?)")
SPAN_SEEN = "UPDATE status_spans SET seen = ? WHERE check_name = ? AND start_ts = ?"
SPAN_CLOSE = "UPDATE status_spans SET end_ts = ?, seen = ? WHERE check_name = ? AND start_ts = ?"


@dataclass(frozen=True)
class Record:
    """One check result as the health engine stores it."""

    check: str
    ts: float
    status: Status
    summary: str
    metrics: Mapping[str, float]
    maintenance: bool = False
    units: Mapping[str, Unit] = field(default_factory=dict)
    interval: float = 30.0


@dataclass
class _Open:
    """A check's open span, as in its status_spans row."""

    start: float
    seen: float
    status: str
    maintenance: bool


def _fold(buckets: dict[Any, list[float]], key: Any, value: float) -> None:
    """Add `value` to the [min, sum, max, count] of `buckets[key]`."""
    acc = buckets.setdefault(key, [value, 0.0, value, 0])
    acc[:] = [min(acc[0], value), acc[1] + value, max(acc[2], value), acc[3] + 1]


def _overlap(start: float, end: float, since: float, until: float) -> float:
    return max(0.0, min(end, until) - max(start, since))


class History:
    """Writes (through the health engine) and reads the history; `clock` is injectable so
    tests can cross days and retention bounds without waiting."""

    def __init__(self, store: Store | None, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._series: dict[tuple[str, str], tuple[int, str | None]] = {}
        self._open: dict[str, _Open | None] = {}  # a check's open span; None: it has none
        self._stale: dict[str, float] = {}  # how long after its last result a check is live

    # --- writing ------------------------------------------------------------------------

    async def plan(self, records: Iterable[Record]) -> list[Statement]:
        """The statements that add `records` to the history, for the caller's transaction.
        Advances the in-memory open spans: call `forget` if that transaction fails."""
        records = sorted(records, key=lambda r: r.ts)
        await self._load(records)
        rollups: dict[tuple[str, int, int], list[float]] = {}
        seconds: Seconds = {}
        spans: list[Statement] = []  # in order: a span may open and close in one batch
        for r in records:
            for metric, value in r.metrics.items():
                series = self._series[(r.check, metric)][0]
                for table, size, _ in TIERS:
                    _fold(rollups, (table, series, int(r.ts // size * size)), value)
            self._extend(r, seconds, spans)
        statements: list[Statement] = [
            (_merge(table), [(i, b, *acc) for (t, i, b), acc in rollups.items() if t == table])
            for table, _, _ in TIERS]
        statements += [(_status_merge(table), [(c, b, *v) for (t, c, b), v in seconds.items()
                                               if t == table]) for table, _ in STATUS_TIERS]
        still = [(o.seen, c, o.start) for c in {r.check for r in records}
                 if (o := self._open.get(c)) is not None]
        return [*statements, *spans, (SPAN_SEEN, still)]

    def _extend(self, r: Record, seconds: Seconds,
                spans: list[Statement]) -> None:
        self._stale[r.check] = max(STALE_INTERVALS * r.interval, STALE_MIN)
        current = self._open.get(r.check)
        if current is not None:
            if r.ts <= current.seen:  # a result older than one already counted
                return
            if r.ts - current.seen > self._stale[r.check]:
                _emit(spans, SPAN_CLOSE, (current.seen, current.seen, r.check, current.start))
            else:
                kind = "maintenance" if current.maintenance else current.status
                _add_seconds(seconds, r.check, current.seen, r.ts, kind)
                if (current.status, current.maintenance) == (r.status.value, r.maintenance):
                    current.seen = r.ts
                    return
                _emit(spans, SPAN_CLOSE, (r.ts, r.ts, r.check, current.start))
        self._open[r.check] = _Open(r.ts, r.ts, r.status.value, r.maintenance)
        _emit(spans, SPAN_OPEN, (r.check, r.ts, r.ts, r.status.value, r.summary, r.maintenance))

    async def _load(self, records: list[Record]) -> None:
        """Name new series (and note changed units), read the open spans of checks not
        seen since the start."""
        assert self._store is not None
        named = {(r.check, m): str(getattr(u, "value", u)) if (u := r.units.get(m)) else None
                 for r in records for m in r.metrics}
        new = [(c, m, u) for (c, m), u in named.items()
               if (c, m) not in self._series or self._series[(c, m)][1] != u]
        if new:
            await self._store.executemany(
                "INSERT INTO history_series (check_name, metric, unit) VALUES (?, ?, ?) "
                "ON CONFLICT (check_name, metric) DO UPDATE SET unit = excluded.unit", new)
            self._series = {(r["check_name"], r["metric"]): (r["id"], r["unit"]) for r in
                            await self._store.fetchall(
                                "SELECT id, check_name, metric, unit FROM history_series")}
        for check in {r.check for r in records} - self._open.keys():
            row = await self._store.fetchone(
                "SELECT start_ts, seen, status, maintenance FROM status_spans "
                "WHERE check_name = ? AND end_ts IS NULL", (check,))
            self._open[check] = None if row is None else _Open(
                row["start_ts"], row["seen"], row["status"], bool(row["maintenance"]))

    def forget(self) -> None:
        """Drop what is cached of the store (after a failed write): read again next time."""
        self._series.clear()
        self._open.clear()

    async def prune(self, now: float | None = None, raw_keep: float = RAW_KEEP) -> None:
        """Delete what is past each tier's retention (results after `raw_keep` seconds)."""
        if self._store is None:
            return
        now = self._clock() if now is None else now
        ids = [(row["id"],) for row in await self._store.fetchall("SELECT id FROM history_series")]
        checks = [r["check_name"] for r in await self._store.fetchall(
            "SELECT DISTINCT check_name FROM status_spans")]  # an open span is never pruned
        statements: list[Statement] = [
            ("DELETE FROM check_results WHERE ts < ?", [(now - raw_keep,)]),
            ("DELETE FROM status_spans WHERE end_ts < ?", [(now - STATUS_KEEP,)])]
        # By series or check, so the primary key finds the rows.
        for table, _, keep in TIERS:
            statements.append((f"DELETE FROM {table} WHERE series = ? AND bucket < ?",
                               [(i, now - keep) for (i,) in ids]))
        for table, _ in STATUS_TIERS:
            statements.append((f"DELETE FROM {table} WHERE check_name = ? AND bucket < ?",
                               [(c, now - STATUS_KEEP) for c in checks]))
        await self._store.batch(statements)

    # --- reading ------------------------------------------------------------------------

    async def series(self, check: str, metric: str, since: float, until: float | None = None,
                     points: int = 300) -> list[Sample]:
        """About `points` samples of `metric` over [since, until): from the coarsest tier
        whose buckets are no wider than the step between points (and that still holds
        `since`), its buckets merged (by the store) into steps of about that width."""
        now = self._clock()
        until = now if until is None else until
        if self._store is None or until <= since:
            return []
        step = (until - since) / max(points, 1)
        tiers = [("check_results", 0, RAW_KEEP), *TIERS]
        holding = [t for t in tiers if since >= now - t[2]] or [tiers[-1]]
        table, size, _ = ([t for t in holding if t[1] <= step * 1.5] or holding[:1])[-1]
        if table == "check_results":
            rows = [(r["ts"], v, v, v, 1) for r in await self._store.fetchall(
                "SELECT ts, metrics FROM check_results WHERE check_name = ? AND ts >= ? "
                "AND ts < ? ORDER BY ts", (check, since, until))
                if isinstance(v := json.loads(r["metrics"]).get(metric), int | float)]
            if len(rows) <= points * 1.5:
                return [Sample(ts, low, low, low) for ts, low, *_ in rows]
            size = 1  # merged below like rollup buckets, by whole seconds
        # Groups of `grid` seconds from `origin` (integers: both engines divide them alike).
        grid = max(size, round(step / size) * size)
        origin = int((since - size) // grid * grid)
        if table == "check_results":
            merged: dict[int, list[float]] = {}
            for ts, value, *_ in rows:
                _fold(merged, int(ts - origin) // grid, value)
            groups = [(k, *acc) for k, acc in merged.items()]
        else:
            groups = [tuple(r.values()) for r in await self._store.fetchall(
                f"SELECT (bucket - ?) / ? AS k, min(vmin) AS low, sum(vsum) AS total, "
                f"max(vmax) AS high, sum(n) AS n "
                f"FROM {table} WHERE series = (SELECT id FROM history_series WHERE "
                "check_name = ? AND metric = ?) AND bucket > ? AND bucket < ? "
                "GROUP BY 1 ORDER BY 1", (origin, grid, check, metric, since - size, until))]
        return [Sample(origin + k * grid, low, total / n, high)
                for k, low, total, high, n in groups]

    async def spans(self, check: str, since: float, until: float | None = None) -> list[Span]:
        """The status spans overlapping [since, until), oldest first."""
        return [Span(r["start_ts"], r["end_ts"], Status(r["status"]), r["summary"],
                     bool(r["maintenance"]))
                for r in await self._span_rows([check], since, until)]

    async def _span_rows(self, checks: Sequence[str], since: float, until: float | None,
                         inner: tuple[float, float] = (0.0, 0.0)) -> list[dict[str, Any]]:
        """Spans overlapping [since, until), but for closed ones within `inner`."""
        if self._store is None or not checks:
            return []
        return await self._store.fetchall(
            "SELECT check_name, start_ts, end_ts, seen, status, summary, maintenance FROM "
            f"status_spans WHERE check_name IN ({', '.join('?' * len(checks))}) AND "
            "start_ts < ? AND (end_ts IS NULL OR end_ts > ?) AND (end_ts IS NULL OR "
            "start_ts < ? OR end_ts > ?) ORDER BY check_name, start_ts",
            (*checks, self._clock() if until is None else until, since, *inner))

    async def status_seconds(self, check: str, since: float, until: float | None = None
                             ) -> dict[str, float]:
        """Seconds in each status (and in maintenance) over [since, until): whole days
        and hours from the rollups, the partial hours at both ends from the spans, and the
        open span up to `until` while its check is live."""
        return (await self.status_seconds_of([check], since, until))[check]

    async def status_seconds_of(self, checks: Sequence[str], since: float,
                                until: float | None = None) -> dict[str, dict[str, float]]:
        """`status_seconds` of many checks in two queries: an uptime page of 200 checks."""
        until = self._clock() if until is None else until
        totals = {check: dict.fromkeys(KINDS, 0.0) for check in checks}
        if self._store is None or until <= since or not checks:
            return totals
        first, last = math.ceil(since / 3600) * 3600, math.floor(until / 3600) * 3600
        edges = [(since, first), (last, until)] if first < last else [(since, until)]
        if first < last:
            day0, day1 = math.ceil(first / 86400) * 86400, math.floor(last / 86400) * 86400
            parts = ([("status_daily", day0, day1), ("status_hourly", first, day0),
                      ("status_hourly", day1, last)] if day0 < day1
                     else [("status_hourly", first, last)])
            named = f"check_name IN ({', '.join('?' * len(checks))})"
            for row in await self._store.fetchall(
                    "SELECT check_name, " + ", ".join(f"sum({k}_s) AS {k}" for k in KINDS)
                    + " FROM (" + " UNION ALL ".join(
                        f"SELECT * FROM {table} WHERE {named} AND bucket >= ? AND bucket < ?"
                        for table, _, _ in parts) + ") AS parts GROUP BY check_name",
                    [v for _, a, b in parts for v in (*checks, a, b)]):
                totals[row["check_name"]] = {k: float(row[k] or 0.0) for k in KINDS}
        # Closed spans within the whole hours are in the rollups already.
        inner = (first, last) if first < last else (math.inf, -math.inf)
        for r in await self._span_rows(checks, since, until, inner):
            kind, end = "maintenance" if r["maintenance"] else r["status"], r["end_ts"]
            shares = totals[r["check_name"]]
            if end is None:  # the open span: counted up to `until` while results come
                end = min(until, r["seen"] + self._stale.get(r["check_name"], 0.0))
                if first < last:  # the rollups hold it only up to its latest result
                    shares[kind] += _overlap(r["seen"], end, first, last)
            shares[kind] += sum(_overlap(r["start_ts"], end, a, b) for a, b in edges)
        return totals

    async def daily_seconds(self, check: str, since: float) -> dict[int, dict[str, float]]:
        """Seconds per status of each UTC day from the one holding `since`, by the day's
        start (a status page's bar per day); days without results are absent."""
        if self._store is None:
            return {}
        rows = await self._store.fetchall(
            "SELECT bucket, " + ", ".join(f"{k}_s" for k in KINDS) + " FROM status_daily "
            "WHERE check_name = ? AND bucket >= ? ORDER BY bucket", (check, since // 86400 * 86400))
        return {int(r["bucket"]): {k: float(r[f"{k}_s"]) for k in KINDS} for r in rows}

    async def metrics(self, check: str | None = None) -> list[tuple[str, str]]:
        """Every (check, metric) with a stored series, or those of `check`."""
        if self._store is None:
            return []
        rows = await self._store.fetchall(
            "SELECT check_name, metric FROM history_series"
            + (" WHERE check_name = ?" if check else "") + " ORDER BY check_name, metric",
            (check,) if check else ())
        return [(r["check_name"], r["metric"]) for r in rows]

    async def unit(self, check: str, metric: str) -> Unit | None:
        """The unit the check last declared for `metric`, if any."""
        if self._store is None:
            return None
        row = await self._store.fetchone(
            "SELECT unit FROM history_series WHERE check_name = ? AND metric = ?",
            (check, metric))
        unit = row["unit"] if row else None
        return Unit(unit) if unit in Unit._value2member_map_ else None


def _add_seconds(seconds: Seconds, check: str, start: float, end: float, kind: str) -> None:
    """Add [start, end) to `kind` of the hourly and daily buckets it covers."""
    index = KINDS.index(kind)
    for table, size in STATUS_TIERS:
        at = start
        while at < end:
            bucket = int(at // size * size)
            cut = min(end, bucket + size)
            seconds.setdefault((table, check, bucket), [0.0] * len(KINDS))[index] += cut - at
            at = cut


def _emit(statements: list[Statement], sql: str, row: tuple[Any, ...]) -> None:
    """Append `row` to the last statement when it is `sql`, else start a new one: order
    kept, executemany where it can."""
    if statements and statements[-1][0] == sql:
        statements[-1][1].append(row)
    else:
        statements.append((sql, [row]))
