"""Uptime and incidents (nebula.helpers.uptime) over a synthetic history written through the
real health engine and store on a clock moved by hand: the numbers read from the rollups
equal a brute-force recomputation over the raw result rows."""

from __future__ import annotations

import random
from typing import Any

import pytest

from nebula.api import Check, CheckResult, Status
from nebula.health import HealthEngine
from nebula.helpers.uptime import WINDOWS, report, uptime_of
from nebula.history import STALE_INTERVALS, STALE_MIN
from nebula.store import SqliteStore, Store

T0 = 1_790_000_000.0
INTERVAL = 300.0
DAYS = 10


async def _ignore(*args: Any) -> None:
    pass


@pytest.fixture
async def fed(tmp_path):
    """One check every 5 minutes for 10 days: status flips now and then, a two-hour stop
    of the agent on day 4, a maintenance window on day 6."""
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    clock = [T0]
    engine = HealthEngine(store, _ignore, flap_threshold=1, clock=lambda: clock[0])
    rng = random.Random(25)
    state = {"status": Status.OK}

    async def run() -> CheckResult:
        if rng.random() < 0.03:
            state["status"] = rng.choice([Status.OK, Status.OK, Status.WARNING,
                                          Status.CRITICAL, Status.UNKNOWN])
        return CheckResult(state["status"], f"now {state['status'].value}", {})

    engine.add(Check("site.http", run, interval=INTERVAL), "site")
    window = (T0 + 5.5 * 86400, T0 + 5.7 * 86400)
    engine.in_maintenance = lambda cs: window[0] <= clock[0] < window[1]
    ts = T0
    while ts < T0 + DAYS * 86400:
        if not T0 + 3.5 * 86400 <= ts < T0 + 3.5 * 86400 + 7200:
            clock[0] = ts
            await engine.run("site.http")
            await engine.flush()
        ts += INTERVAL
    yield engine, store, clock[0]
    await store.close()


async def _brute(store: Store, check: str, since: float, until: float) -> dict[str, float]:
    """Seconds per status from the raw rows: a result's status holds until the next result,
    unless the next comes after the stale limit (the agent was away): then it held only
    until that limit counts nothing; the last holds to `until` within the same limit."""
    rows = await store.fetchall("SELECT ts, status, maintenance FROM check_results WHERE "
                                "check_name = ? ORDER BY ts", (check,))
    stale = max(STALE_INTERVALS * INTERVAL, STALE_MIN)
    totals = dict.fromkeys(("ok", "warning", "critical", "unknown", "maintenance"), 0.0)
    for row, after in zip(rows, [*rows[1:], None], strict=True):
        if after is not None and after["ts"] - row["ts"] > stale:
            continue
        end = after["ts"] if after is not None else min(until, row["ts"] + stale)
        kind = "maintenance" if row["maintenance"] else row["status"]
        totals[kind] += max(0.0, min(end, until) - max(row["ts"], since))
    return totals


async def test_uptime_from_rollups_equals_brute_force_over_raw_rows(fed):
    engine, store, now = fed
    found = await report(engine.history, "site.http", now)
    for window, length in WINDOWS.items():
        expected = uptime_of(window, await _brute(store, "site.http", now - length, now),
                             length)
        got = found["uptime"][window]
        assert got["uptime"] == pytest.approx(expected.uptime, abs=1e-9), window
        for key in ("ok_s", "down_s", "unknown_s", "maintenance_s", "coverage"):
            assert got[key] == pytest.approx(getattr(expected, key), abs=1e-6), (window, key)
    ten_days = found["uptime"]["30d"]
    assert 0 < ten_days["uptime"] < 1 and ten_days["maintenance_s"] > 0
    assert ten_days["coverage"] == pytest.approx((DAYS * 86400 - 7200 - 900) / (30 * 86400),
                                                 rel=0.01)


async def test_incidents_are_runs_of_warning_or_critical_with_their_worst(fed):
    engine, store, now = fed
    found = await report(engine.history, "site.http", now)
    rows = await store.fetchall("SELECT ts, status, maintenance, summary FROM check_results "
                                "WHERE check_name = 'site.http' ORDER BY ts")
    expected, current = [], None
    for row in rows:
        down = row["status"] in ("warning", "critical") and not row["maintenance"]
        if down and current is None:
            current = {"start": row["ts"], "worst": row["status"], "summary": row["summary"]}
        elif down and row["status"] == "critical":
            current["worst"] = "critical"
        elif not down and current is not None:
            expected.append((current["start"], current["worst"], current["summary"]))
            current = None
    if current is not None:
        expected.append((current["start"], current["worst"], current["summary"]))
    got = [(i["start"], i["worst"], i["summary"]) for i in found["incidents"]]
    # Spans split at the agent's stop: an incident across it is two in the history.
    assert len(expected) >= 3 and set(expected) <= set(got)
    ended = [i["duration"] for i in found["incidents"] if i["end"] is not None]
    assert found["mttr"] == pytest.approx(sum(ended) / len(ended))


def test_a_window_with_no_known_time_has_no_uptime():
    empty = dict.fromkeys(("ok", "warning", "critical", "unknown", "maintenance"), 0.0)
    assert uptime_of("24h", {**empty, "unknown": 600.0}, 86400).uptime is None
    assert uptime_of("24h", {**empty, "ok": 3.0, "critical": 1.0}, 86400).uptime == 0.75
