"""Metric and status history (nebula.history), fed through the health engine's real write
path with an injected clock: rollups, spans and status seconds against brute force over
the raw results, tier choice, pruning, a restart in the middle of a span."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

import pytest

from nebula.api import Check, CheckResult, Sample, Span, Status, Unit
from nebula.health import HealthEngine
from nebula.history import KINDS, RAW_KEEP, STALE_MIN, TIERS
from nebula.store import SqliteStore, Store

DAY, HOUR = 86400.0, 3600.0
# Not on a bucket boundary, so edges are exercised.
T0 = 1_780_000_000.0 + 1234.5


@dataclass
class Fed:
    ts: float
    status: str
    metrics: dict[str, float]
    maintenance: bool


class Feeder:
    """Runs one check at chosen times through a real HealthEngine on a real store, and
    keeps what it fed for the brute-force side."""

    def __init__(self, store: Store, interval: float = 30.0, name: str = "t.load") -> None:
        self.now = T0
        self.engine = HealthEngine(store, self._publish, flap_threshold=1,
                                   clock=lambda: self.now)
        self.name, self.fed = name, []
        self.result = CheckResult(Status.OK, "")
        self.maintenance = False
        self.engine.in_maintenance = lambda cs: self.maintenance
        self.engine.add(Check(name, self._run, interval=interval,
                              units={"used": Unit.PERCENT, "rate": Unit.BYTES_PER_S}), "t")

    async def _publish(self, *args) -> None:
        pass

    async def _run(self) -> CheckResult:
        return self.result

    async def feed(self, ts: float, status: Status, metrics: dict[str, float],
                   maintenance: bool = False) -> None:
        self.now, self.maintenance = ts, maintenance
        self.result = CheckResult(status, f"{status.value} at {ts:.0f}", metrics)
        await self.engine.run(self.name)
        self.fed.append(Fed(ts, status.value, metrics, maintenance))

    @property
    def history(self):
        return self.engine.history


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    yield store
    await store.close()


async def feed_run(feeder: Feeder, start: float, count: int, interval: float,
                   seed: int = 7, flush_every: int = 7, gap_at: int | None = None,
                   gap: float = 0.0) -> None:
    """`count` results `interval` apart with wandering values, a status that changes now
    and then, maintenance for a while, one gap (the agent stopped) if asked."""
    rng = random.Random(seed)
    ts, status = start, Status.OK
    for i in range(count):
        if gap_at is not None and i == gap_at:
            ts += gap
        if rng.random() < 0.03:
            status = rng.choice(list(Status))
        maintenance = count // 3 <= i < count // 3 + 40
        metrics = {"used": round(rng.uniform(0, 100), 3)}
        if i % 4:  # a metric missing from some results
            metrics["rate"] = rng.uniform(0, 1e7)
        await feeder.feed(ts, status, metrics, maintenance)
        if i % flush_every == 0:
            await feeder.engine.flush()
        ts += interval * rng.uniform(0.9, 1.1)
    await feeder.engine.flush()


def brute_rollups(fed: list[Fed], metric: str, size: int) -> dict[int, tuple]:
    buckets: dict[int, list[float]] = defaultdict(list)
    for f in fed:
        if metric in f.metrics:
            buckets[int(f.ts // size * size)].append(f.metrics[metric])
    return {b: (min(v), sum(v) / len(v), max(v), len(v)) for b, v in buckets.items()}


def stale(interval: float) -> float:
    return max(3 * interval, STALE_MIN)


def brute_spans(fed: list[Fed], interval: float) -> list[tuple]:
    spans: list[list] = []
    for i, f in enumerate(fed):
        gap = i and f.ts - fed[i - 1].ts > stale(interval)
        if gap:
            spans[-1][1] = fed[i - 1].ts
        if not spans or gap or (spans[-1][2], spans[-1][4]) != (f.status, f.maintenance):
            if spans and spans[-1][1] is None:
                spans[-1][1] = f.ts
            spans.append([f.ts, None, f.status, f"{f.status} at {f.ts:.0f}", f.maintenance])
    return [tuple(s) for s in spans]


def brute_seconds(fed: list[Fed], interval: float, since: float, until: float) -> dict:
    totals = dict.fromkeys(KINDS, 0.0)
    for i, f in enumerate(fed):
        if i + 1 < len(fed):
            end = fed[i + 1].ts
            if end - f.ts > stale(interval):
                continue
        else:
            end = min(until, f.ts + stale(interval))
        kind = "maintenance" if f.maintenance else f.status
        totals[kind] += max(0.0, min(end, until) - max(f.ts, since))
    return totals


async def test_rollups_equal_brute_force_over_the_raw_results(store):
    feeder = Feeder(store)
    await feed_run(feeder, T0, 3 * 2880 + 100, 30.0)  # three days: past the raw bound
    for table, size, _ in TIERS:
        rows = await store.fetchall(
            f"SELECT s.metric, bucket, vmin, vsum, vmax, n FROM {table} r "
            "JOIN history_series s ON s.id = r.series")
        for metric in ("used", "rate"):
            want = brute_rollups(feeder.fed, metric, size)
            got = {r["bucket"]: (r["vmin"], r["vsum"] / r["n"], r["vmax"], r["n"])
                   for r in rows if r["metric"] == metric}
            assert got.keys() == want.keys()
            for bucket, (low, avg, high, n) in want.items():
                assert got[bucket][0] == low and got[bucket][2] == high
                assert got[bucket][3] == n
                assert math.isclose(got[bucket][1], avg, rel_tol=1e-9)


async def test_series_picks_the_tier_that_gives_about_the_points_asked(store):
    feeder = Feeder(store)
    await feed_run(feeder, T0, 3 * 2880, 30.0)
    now = feeder.now
    history = feeder.history
    # One hour: the raw results themselves.
    hour = await history.series("t.load", "used", now - HOUR, now + 1)
    raw = [f for f in feeder.fed if f.ts >= now - HOUR]
    assert hour == [Sample(f.ts, f.metrics["used"], f.metrics["used"], f.metrics["used"])
                    for f in raw]
    # A day: the 5-minute buckets (288 ≈ 300 points), equal to brute force.
    day = await history.series("t.load", "rate", now - DAY, now + 1)
    want = brute_rollups(feeder.fed, "rate", 300)
    assert 280 <= len(day) <= 290
    for sample in day:
        low, avg, high, _ = want[int(sample.ts)]
        assert (sample.min, sample.max) == (low, high)
        assert math.isclose(sample.avg, avg, rel_tol=1e-9)
    # Three days in 72 points: the hourly buckets, the first the one holding `since`.
    three = await history.series("t.load", "used", now - 3 * DAY, now + 1, points=72)
    hourly = brute_rollups(feeder.fed, "used", 3600)
    assert [s.ts for s in three] == sorted(hourly)[-len(three):] and len(three) == 73
    assert all(math.isclose(s.avg, hourly[int(s.ts)][1], rel_tol=1e-9) for s in three)
    assert three[0].ts <= now - 3 * DAY < three[0].ts + 3600
    # 100 points over a day: 5-minute buckets (288) merged by the store in steps of 900 s
    # (the step, 864 s, rounded to whole buckets), min, avg and max still those of the raw
    # values under them.
    since, grid = now - DAY, 900
    merged = await history.series("t.load", "used", since, now, points=100)
    origin = (since - 300) // grid * grid
    grouped: dict[float, list[float]] = defaultdict(list)
    for f in feeder.fed:
        five = f.ts // 300 * 300
        if since - 300 < five < now:
            grouped[origin + (five - origin) // grid * grid].append(f.metrics["used"])
    assert [s.ts for s in merged] == sorted(grouped) and 96 <= len(merged) <= 98
    for sample in merged:
        inside = grouped[sample.ts]
        assert (sample.min, sample.max) == (min(inside), max(inside))
        assert math.isclose(sample.avg, sum(inside) / len(inside), rel_tol=1e-9)
    # Raw results merged the same way when a short range asks for few points.
    few = await history.series("t.load", "used", now - HOUR, now + 1, points=12)
    assert 12 <= len(few) <= 14
    values = [f.metrics["used"] for f in feeder.fed if f.ts >= now - HOUR]
    assert min(s.min for s in few) == min(values) and max(s.max for s in few) == max(values)
    assert await history.series("t.load", "nope", now - DAY) == []
    assert await history.series("t.load", "used", now, now - 1) == []


async def test_spans_and_status_seconds_equal_brute_force(store):
    interval = 60.0
    feeder = Feeder(store, interval=interval)
    # Two days with a two-hour stop of the agent in the middle.
    await feed_run(feeder, T0, 2 * 1440, interval, seed=3, gap_at=1500, gap=2 * HOUR)
    history, end = feeder.history, feeder.now
    spans = await history.spans("t.load", T0 - 1, end + 1)
    want = brute_spans(feeder.fed, interval)
    assert [(s.start, s.end, s.status.value, s.summary, s.maintenance) for s in spans] == want
    assert spans[-1].end is None and any(s.maintenance for s in spans)
    assert len(spans) > 20  # the run did change status
    rng = random.Random(11)
    windows = [(T0 - 10, end + 30), (T0 + 3 * HOUR, T0 + 3 * HOUR + 100),
               (end - HOUR - 17.25, end + 45), (T0 + 1499 * interval, T0 + 1501 * interval)]
    windows += [tuple(sorted(rng.uniform(T0, end + 200) for _ in range(2))) for _ in range(20)]
    for since, until in windows:
        got = await history.status_seconds("t.load", since, until)
        want_s = brute_seconds(feeder.fed, interval, since, until)
        assert got.keys() == want_s.keys()
        for kind in KINDS:
            assert math.isclose(got[kind], want_s[kind], abs_tol=1e-6), (since, until, kind)
    # Many checks at once answer what each alone does (an unknown one: all zero).
    other = Feeder(store, interval=interval, name="t.other")
    await feed_run(other, T0 + HOUR, 500, interval, seed=5)
    since, until = T0 + 1800.5, end + 60
    both = await history.status_seconds_of(["t.load", "t.other", "t.none"], since, until)
    assert both["t.load"] == await history.status_seconds("t.load", since, until)
    assert both["t.other"] == await history.status_seconds("t.other", since, until)
    assert sum(both["t.other"].values()) > 400 * interval
    assert both["t.none"] == dict.fromkeys(KINDS, 0.0)
    # Spans in a window: only those overlapping it.
    mid = await history.spans("t.load", T0 + DAY, T0 + DAY + HOUR)
    assert all(s.start < T0 + DAY + HOUR and (s.end is None or s.end > T0 + DAY) for s in mid)
    assert mid == [s for s in spans if s.start < T0 + DAY + HOUR
                   and (s.end is None or s.end > T0 + DAY)]


async def test_a_restart_continues_the_open_span_and_merges_into_open_buckets(store):
    first = Feeder(store)
    for i in range(5):
        await first.feed(T0 + 30 * i, Status.WARNING, {"used": 10.0 + i})
    await first.engine.flush()
    second = Feeder(store)  # a new engine and history on the same store: cold caches
    for i in range(5, 10):
        await second.feed(T0 + 30 * i, Status.WARNING, {"used": 10.0 + i})
    await second.feed(T0 + 300, Status.OK, {"used": 1.0})
    await second.engine.flush()
    fed = first.fed + second.fed
    spans = await second.history.spans("t.load", T0, T0 + 400)
    assert [(s.start, s.end, s.status) for s in spans] == [
        (T0, T0 + 300, Status.WARNING), (T0 + 300, None, Status.OK)]
    seconds = await second.history.status_seconds("t.load", T0, T0 + 330)
    assert seconds == brute_seconds(fed, 30.0, T0, T0 + 330)
    rows = await store.fetchall("SELECT bucket, n FROM history_5m ORDER BY bucket")
    assert rows == [{"bucket": b, "n": n}
                    for b, (_, _, _, n) in sorted(brute_rollups(fed, "used", 300).items())]
    assert len(await store.fetchall("SELECT * FROM history_series")) == 1


async def test_prune_keeps_each_tier_within_its_bound(store):
    interval = 900.0
    feeder = Feeder(store, interval=interval)
    history = feeder.history
    ts = T0
    for day in range(40):  # 40 days, pruning daily as the hourly job would
        for _ in range(96):
            await feeder.feed(ts, Status.OK if day % 7 else Status.CRITICAL, {"used": ts % 97})
            ts += interval
        await feeder.engine.flush()
        await history.prune(feeder.now)
    now = feeder.now
    oldest = await store.fetchone("SELECT min(ts) AS ts, count(*) AS n FROM check_results")
    assert oldest["ts"] >= now - RAW_KEEP and oldest["n"] <= RAW_KEEP / interval + 1
    five = await store.fetchone("SELECT min(bucket) AS b, count(*) AS n FROM history_5m")
    assert five["b"] >= now - 30 * DAY - 300 and five["n"] <= 30 * DAY / interval + 2
    hourly = await store.fetchone("SELECT min(bucket) AS b, count(*) AS n FROM history_1h")
    # A year is kept: nothing pruned yet.
    assert hourly["b"] == T0 // 3600 * 3600 and hourly["n"] in (40 * 24, 40 * 24 + 1)
    # What is left still reads: 30 days from the hourly rollups, or merged to ~300.
    month = await history.series("t.load", "used", now - 30 * DAY + 60, now, points=720)
    assert 719 <= len(month) <= 721
    assert 200 <= len(await history.series("t.load", "used", now - 30 * DAY, now)) <= 450
    # A year later everything but the last spans/hours is gone.
    await history.prune(now + 366 * DAY)
    for table in ("check_results", "history_5m", "history_1h", "status_hourly", "status_daily"):
        assert (await store.fetchone(f"SELECT count(*) AS n FROM {table}"))["n"] == 0
    assert [s["end_ts"] for s in await store.fetchall("SELECT end_ts FROM status_spans")] \
        == [None]  # the open span stays


async def test_metrics_units_and_the_maintenance_column(store):
    feeder = Feeder(store)
    await feeder.feed(T0, Status.OK, {"used": 5.0, "rate": 100.0}, maintenance=True)
    await feeder.feed(T0 + 30, Status.OK, {"used": 6.0, "other": 1.0})
    await feeder.engine.flush()
    history = feeder.history
    assert await history.metrics() == [("t.load", "other"), ("t.load", "rate"),
                                       ("t.load", "used")]
    assert await history.metrics("t.none") == []
    assert await history.unit("t.load", "used") is Unit.PERCENT
    assert await history.unit("t.load", "rate") is Unit.BYTES_PER_S
    assert await history.unit("t.load", "other") is None
    rows = await store.fetchall("SELECT maintenance FROM check_results ORDER BY ts")
    assert [bool(r["maintenance"]) for r in rows] == [True, False]
    spans = await history.spans("t.load", T0, T0 + 60)
    assert spans == [Span(T0, T0 + 30, Status.OK, "ok at 1780001234", True),
                     Span(T0 + 30, None, Status.OK, "ok at 1780001264", False)]


async def test_without_a_store_history_reads_empty():
    engine = HealthEngine(None, lambda *a: None)  # type: ignore[arg-type, return-value]
    assert await engine.history.series("c", "m", 0) == []
    assert await engine.history.spans("c", 0) == []
    assert await engine.history.status_seconds("c", 0, 10) == dict.fromkeys(KINDS, 0.0)
    assert await engine.history.metrics() == []
    assert await engine.history.unit("c", "m") is None


async def test_the_daily_status_rollup_is_filled_from_hourly_rows_when_migrating(tmp_path):
    """A store migrated to the hourly rollups before the daily ones existed gets its days
    summed from its hours, so uptime over those days stays right."""
    import sqlite3

    from nebula.store.db import connect
    from nebula.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:-1], start=1):
        for statement in filter(str.strip, script.split(";")):
            old.execute(statement)
        old.execute(f"PRAGMA user_version={number}")
    day = int(T0 // DAY * DAY)
    old.executemany("INSERT INTO status_hourly (check_name, bucket, ok_s, critical_s) "
                    "VALUES (?, ?, ?, ?)", [("a", day + h * 3600, 3000.0, 600.0)
                                            for h in range(30)])
    old.close()
    conn = connect(path)
    rows = [tuple(r) for r in conn.execute(
        "SELECT check_name, bucket, ok_s, critical_s FROM status_daily ORDER BY bucket")]
    conn.close()
    assert rows == [("a", day, 24 * 3000.0, 24 * 600.0), ("a", day + DAY, 6 * 3000.0,
                                                          6 * 600.0)]
