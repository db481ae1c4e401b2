"""The health engine: isolation of bad checks, flap damping, history, retention, restore."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from nebula.api import Check, CheckResult, Status
from nebula.events import EventBus
from nebula.health import HealthEngine
from nebula.store import SqliteStore, Store
from tests.sample_plugins import BadChecks, Switchable
from tests.waiting import eventually


class Probe:
    """A check body returning whatever result the test sets."""

    def __init__(self, status: Status = Status.OK, summary: str = "") -> None:
        self.set(status, summary)

    def set(self, status: Status | str, summary: str = "", metrics=None) -> None:
        self.result = CheckResult(status, summary or getattr(status, "value", status),
                                  metrics or {})

    async def __call__(self) -> CheckResult:
        return self.result


def changes(bus: EventBus) -> list[tuple[str, str, str]]:
    return [(e["data"]["check"], e["data"]["old"], e["data"]["new"])
            for e in bus.recent if e["topic"] == "check.changed"]


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    yield store
    await store.close()


def engine_with(*checks: Check, store: Store | None = None, flap_threshold: int = 1):
    bus = EventBus()
    engine = HealthEngine(store, bus.publish, flap_threshold)
    for check in checks:
        engine.add(check, "test")
    return engine, bus


async def run_with(engine: HealthEngine, probe: Probe, name: str, *statuses: Status) -> None:
    for status in statuses:
        probe.set(status)
        await engine.run(name)


async def test_results_are_one_line_with_only_finite_numeric_metrics():
    probe = Probe()
    engine, _ = engine_with(Check("t.disk", probe))
    probe.set("warning", "disk 91% used\n  on /var\tand rising", {
        "used": 91, "ratio": 0.91, "nan": math.nan, "inf": math.inf, "label": "x",
        "none": None, "huge": 10**400})
    cs = await engine.run("t.disk")
    assert cs.last == CheckResult(Status.WARNING, "disk 91% used on /var and rising",
                                  {"used": 91.0, "ratio": 0.91})
    public = cs.public()
    assert (public["status"], public["summary"]) == ("warning", "disk 91% used on /var and rising")
    assert public["metrics"] == {"used": 91.0, "ratio": 0.91}
    probe.set("purple")
    cs = await engine.run("t.disk")
    assert cs.last.status is Status.UNKNOWN
    assert cs.last.summary == "check returned an invalid status 'purple'"


async def test_a_bad_check_gives_unknown_and_everything_else_keeps_working():
    async def lets_out_a_cancellation() -> CheckResult:
        helper = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        helper.cancel()
        await helper
        raise AssertionError("unreachable")

    good = Probe(Status.OK, "fine")
    engine, _ = engine_with(*BadChecks().nebula_checks(), Check("good", good),
                            Check("cancels", lets_out_a_cancellation))
    started = time.monotonic()
    states = await asyncio.gather(*(engine.run(name) for name in engine.checks))
    assert time.monotonic() - started < 1  # the hanging check is cut at its 0.3 s timeout
    found = {cs.check.name: (cs.last.status.value, cs.last.summary) for cs in states}
    assert found == {
        "raises": ("unknown", "check raised OSError: disk on fire"),
        "hangs": ("unknown", "check timed out after 0.3s"),
        "garbage": ("unknown", "check returned str, not a CheckResult"),
        "good": ("ok", "fine"),
        "cancels": ("unknown", "check raised CancelledError"),
    }
    good.set(Status.CRITICAL, "broken now")
    assert (await engine.run("good")).state is Status.CRITICAL
    assert engine.summary() == {"ok": 0, "warning": 0, "critical": 1, "unknown": 4}


async def test_state_changes_only_after_n_agreeing_results_with_one_event_each():
    probe = Probe()
    engine, bus = engine_with(Check("t.svc", probe), flap_threshold=3)
    cs = await engine.run("t.svc")
    assert cs.state is Status.OK and changes(bus) == []  # a first result is no change
    await run_with(engine, probe, "t.svc", Status.CRITICAL, Status.CRITICAL)
    assert cs.state is Status.OK and cs.public()["last_status"] == "critical"
    assert changes(bus) == []
    await run_with(engine, probe, "t.svc", Status.CRITICAL)
    assert cs.state is Status.CRITICAL
    assert changes(bus) == [("t.svc", "ok", "critical")]
    await run_with(engine, probe, "t.svc", *[Status.OK, Status.CRITICAL] * 5)
    await run_with(engine, probe, "t.svc", *[Status.WARNING, Status.OK] * 5)
    assert cs.state is Status.CRITICAL
    await run_with(engine, probe, "t.svc", Status.OK, Status.OK, Status.OK)
    assert changes(bus) == [("t.svc", "ok", "critical"), ("t.svc", "critical", "ok")]
    event = next(e for e in bus.recent if e["topic"] == "check.changed")
    assert event["source"] == "test" and event["data"]["summary"] == "critical"


async def test_a_shown_status_and_its_summary_come_from_the_same_result():
    """The config tile once said "critical" over "configuration valid": the damped status
    beside the newest summary. The status comes with the words of the result that set it
    (`status_summary`, what a tile shows); the latest run keeps its own pair."""
    probe = Probe(Status.CRITICAL, "configuration invalid: 2 errors")
    engine, _ = engine_with(Check("t.config", probe), flap_threshold=2)
    cs = await engine.run("t.config")
    await engine.run("t.config")
    probe.set(Status.OK, "configuration valid")
    await engine.run("t.config")
    shown = cs.public()
    assert (shown["status"], shown["status_summary"]) == (
        "critical", "configuration invalid: 2 errors")
    assert (shown["last_status"], shown["summary"]) == ("ok", "configuration valid")
    assert shown["pending"] == {"status": "ok", "summary": "configuration valid",
                                "results": 1, "needed": 2}
    await engine.run("t.config")
    shown = cs.public()
    assert (shown["status"], shown["status_summary"], shown["pending"]) == (
        "ok", "configuration valid", None)


async def test_a_checks_own_flap_threshold_overrides_the_engines():
    strict, loose = Probe(), Probe()
    engine, bus = engine_with(Check("t.strict", strict, flap_threshold=1),
                              Check("t.loose", loose), flap_threshold=3)
    for name in engine.checks:
        await engine.run(name)
    await run_with(engine, strict, "t.strict", Status.WARNING)
    await run_with(engine, loose, "t.loose", Status.WARNING)
    assert changes(bus) == [("t.strict", "ok", "warning")]
    # A reload's new default reaches running checks that have none of their own.
    engine.flap_threshold = 1
    await run_with(engine, strict, "t.strict", Status.CRITICAL)
    await run_with(engine, loose, "t.loose", Status.CRITICAL)
    assert changes(bus)[1:] == [("t.strict", "warning", "critical"),
                                ("t.loose", "ok", "critical")]


async def test_history_is_written_in_batches_and_read_newest_first(store):
    probe = Probe()
    engine, _ = engine_with(Check("t.db", probe), store=store)
    for n, status in enumerate((Status.OK, Status.WARNING, Status.CRITICAL)):
        probe.set(status, f"run {n}", {"n": n})
        await engine.run("t.db")
    count = "SELECT count(*) AS n FROM check_results"
    assert (await store.fetchone(count))["n"] == 0
    assert await engine.flush() == 3
    assert await engine.flush() == 0
    assert (await store.fetchone(count))["n"] == 3
    rows = await engine.results("t.db")
    assert [(r["status"], r["state"], r["summary"], r["metrics"]) for r in rows] == [
        ("critical", "critical", "run 2", {"n": 2.0}),
        ("warning", "warning", "run 1", {"n": 1.0}),
        ("ok", "ok", "run 0", {"n": 0.0}),
    ]
    assert [r["summary"] for r in await engine.results("t.db", limit=2)] == ["run 2", "run 1"]
    since = rows[1]["ts"]
    assert [r["summary"] for r in await engine.results("t.db", since=since)] == ["run 2",
                                                                                "run 1"]
    assert await engine.results("t.other") == []


async def test_restore_brings_back_the_damped_state_after_a_restart(tmp_path):
    path = tmp_path / "nebula.db"
    probe = Probe()
    check = Check("t.api", probe)

    first = SqliteStore(path)
    await first.open()
    before, _ = engine_with(check, store=first)
    probe.set(Status.CRITICAL, "api down", {"latency_ms": 900})
    await before.run("t.api")
    await before.flush()
    await first.close()

    second = SqliteStore(path)
    await second.open()
    try:
        after, bus = engine_with(check, store=second, flap_threshold=2)
        await after.restore()
        cs = after.checks["t.api"]
        assert cs.state is Status.CRITICAL
        assert cs.last == CheckResult(Status.CRITICAL, "api down", {"latency_ms": 900.0})
        assert cs.public()["status"] == "critical"
        # The outage is remembered: recovery is damped and announced like any other change.
        await run_with(after, probe, "t.api", Status.OK)
        assert cs.state is Status.CRITICAL and changes(bus) == []
        await run_with(after, probe, "t.api", Status.OK)
        assert changes(bus) == [("t.api", "critical", "ok")]
    finally:
        await second.close()


async def test_retention_deletes_old_results_and_events(nebula_agent):
    day = 86400
    async with nebula_agent(agent={"retention_days": 1, "audit_retention_days": 2}) as a:
        store, now = a.agent.store, time.time()
        for name, age in (("t.old", 1.5 * day), ("t.new", 0.5 * day)):
            await store.execute(
                "INSERT INTO check_results (check_name, ts, status, state, summary) "
                "VALUES (?, ?, 'ok', 'ok', 'x')", (name, now - age))
            await store.execute("INSERT INTO events (ts, topic, source, data) "
                                "VALUES (?, ?, 'test', '{}')", (now - age, name))
        for action, age in (("t.ancient", 3 * day), ("t.recent", 1.5 * day)):
            await store.execute("INSERT INTO audit (ts, actor, action, outcome) "
                                "VALUES (?, 'tester', ?, 'ok')", (now - age, action))
        await a.agent.apply_retention()
        results = await store.fetchall("SELECT check_name FROM check_results")
        events = await store.fetchall("SELECT topic FROM events WHERE source = 'test'")
        audit = await store.fetchall("SELECT action FROM audit")
    assert [r["check_name"] for r in results] == ["t.new"]
    assert [e["topic"] for e in events] == ["t.new"]
    assert [r["action"] for r in audit] == ["t.recent"]


async def test_the_scheduler_runs_checks_on_their_own(nebula_agent):
    plugin = Switchable(interval=0.1)
    async with nebula_agent({"switchable": plugin}) as a:
        path = "/api/v1/checks/switchable.switch"

        async def results(at_least: int):
            _, body = await a.get(path + "/history")
            return body["results"] if len(body["results"]) >= at_least else None

        found = await eventually(lambda: results(3))
        assert {r["status"] for r in found} == {"ok"}
        plugin.status = Status.CRITICAL

        async def status():
            _, body = await a.get(path)
            return body["status"] == "critical" and body

        await eventually(status)
        seen = await eventually(lambda: [e for e in plugin.seen_events
                                         if e["topic"] == "check.changed"])
    assert [(e["data"]["old"], e["data"]["new"]) for e in seen] == [("ok", "critical")]
    assert seen[0]["data"]["check"] == "switchable.switch"


async def test_the_overview_tile_shows_the_words_of_its_status(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}, agent={"flap_threshold": 2},
                            schedule=False) as a:
        await a.run_check("switchable.switch")
        plugin.status = Status.CRITICAL
        await a.run_check("switchable.switch")  # one critical: not confirmed yet
        status, page = await a.get("/")
        assert status == 200
        tile = page[page.index('data-check="switchable.switch"'):]
        tile = tile[:tile.index("</li>")]
        assert 'data-status="ok"' in tile
        assert "switch is ok" in tile and "switch is critical" not in tile
