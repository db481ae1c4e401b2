"""Maintenance windows (the built-in `maintenance` plugin) in a real agent: results inside
a window are still kept, marked; remediation waits; a recurring window is computed in its
own time zone (a fixed clock, stepped by the test); config problems name file, line and
key."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import tomlkit

from nebula.api import Status
from nebula.builtins.maintenance.windows import Window, parse_duration
from nebula.config import ConfigError, load
from nebula.testing import run_agent
from tests.remediation_helpers import Fixable, cycle, policy_config, wait_events
from tests.sample_plugins import Switchable
from tests.waiting import eventually

HEAL = {"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
        "cycles": 1}


def with_windows(path, windows, policies=()):
    policy_config(path, list(policies))
    if windows:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n" + tomlkit.dumps({"maintenance": windows}))
    return path


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


# Noon UTC: none of this module's cron windows is open then. On the real clock a test's
# window is open at its own hour of the day (02:00 in New York is 07:00-08:00 UTC in
# winter), and the runtime would announce an opening the test does not expect.
QUIET = utc(2026, 3, 1, 12)


@pytest.fixture
def quiet_start(monkeypatch):
    """The maintenance runtime starts on a clock fixed at QUIET (the tests move it)."""
    from nebula.builtins.maintenance import engine

    class Quiet(engine.Maintenance):
        def __init__(self, *args, **kw):
            kw.setdefault("clock", lambda: QUIET)
            super().__init__(*args, **kw)

    monkeypatch.setattr(engine, "Maintenance", Quiet)


async def check(agent, name):
    status, body = await agent.get("/api/v1/checks")
    assert status == 200, body
    return next(c for c in body["checks"] if c["name"] == name)


async def test_a_window_keeps_marked_results_and_holds_remediation_until_it_ends(tmp_path):
    plugin = Fixable()
    path = with_windows(tmp_path / "nebula.toml", [], [HEAL])
    async with run_agent(load(path), {"switchable": plugin, "other": Switchable()},
                         schedule=False) as a:
        await cycle(a, plugin, Status.OK)
        status, window = await a.post("/api/v1/maintenance/start", {
            "duration": "2h", "checks": ["switchable.*"], "reason": "disk swap"})
        assert status == 201, window
        assert (window["open"], window["checks"], window["source"]) == (
            True, ["switchable.switch"], "adhoc")
        [started] = await wait_events(a, "maintenance.started", 1)
        assert started["data"]["window"] == window["name"]
        # Marked at once, not only with the next result; other checks are not.
        assert (await check(a, "switchable.switch"))["maintenance"] is True
        assert (await check(a, "other.switch"))["maintenance"] is False

        await cycle(a, plugin, Status.CRITICAL, 3)
        # The check still runs and its status moves; the policy does nothing.
        assert (await check(a, "switchable.switch"))["status"] == "critical"
        assert plugin.fixes == 0
        rows = await a.agent.health.results("switchable.switch")
        assert [(r["status"], r["maintenance"]) for r in rows[:3]] == [("critical", True)] * 3
        [changed] = [e for e in (await a.get("/api/v1/events?topic=check.changed"))[1][
            "events"] if e["data"]["check"] == "switchable.switch"]
        assert changed["data"]["maintenance"] is True

        status, stopped = await a.post(f"/api/v1/maintenance/{window['name']}/stop")
        assert status == 200, stopped
        [ended] = await wait_events(a, "maintenance.ended", 1)
        assert ended["data"]["failing"] == ["switchable.switch"]
        assert (await check(a, "switchable.switch"))["maintenance"] is False
        # Still failing after the window: the policy counts again and runs.
        await cycle(a, plugin, Status.CRITICAL)
        await eventually(lambda: plugin.fixes == 1)
        rows = await a.agent.health.results("switchable.switch")
        assert rows[0]["maintenance"] is False
        # Stopped windows are gone; a second stop is a conflict, an unknown name a 404.
        status, body = await a.get("/api/v1/maintenance")
        assert (status, body["windows"]) == (200, [])
        assert (await a.post(f"/api/v1/maintenance/{window['name']}/stop"))[0] == 404


async def test_bad_ad_hoc_requests_are_4xx(tmp_path):
    path = with_windows(tmp_path / "nebula.toml", [])
    async with run_agent(load(path), {"switchable": Fixable()}, schedule=False) as a:
        status, body = await a.post("/api/v1/maintenance/start", {"duration": "soon"})
        assert status == 422 and body["errors"][0]["path"] == "duration", body
        status, body = await a.post("/api/v1/maintenance/start", {"duration": 60, "x": 1})
        assert status == 422, body
        assert (await a.post("/api/v1/maintenance/start",
                             {"duration": 60, "name": "w"}))[0] == 201
        assert (await a.post("/api/v1/maintenance/start",
                             {"duration": 60, "name": "w"}))[0] == 409
        # A viewer may look, not start.
        status, _ = await a.post("/api/v1/maintenance/start", {"duration": 60},
                                 token=await viewer_token(a))
        assert status == 403


async def viewer_token(a):
    status, body = await a.post("/api/v1/tokens", {"name": "look", "role": "viewer"})
    assert status in (200, 201), body
    return body["token"]


async def test_a_recurring_window_opens_at_its_local_time_in_summer_and_in_winter(
        tmp_path, quiet_start):
    nightly = {"name": "nightly", "cron": "0 2 * * *", "duration": "1h",
               "timezone": "America/New_York", "plugins": ["switchable"],
               "reason": "backups"}
    path = with_windows(tmp_path / "nebula.toml", [nightly])
    async with run_agent(load(path), {"switchable": Fixable()}, schedule=False) as a:
        runtime = a.agent.runtime("maintenance")

        async def at(ts: float) -> bool:
            runtime.clock = lambda: ts
            await runtime.step()
            return (await check(a, "switchable.switch"))["maintenance"]

        # 02:00-03:00 in New York: 06:00-07:00 UTC in summer (EDT), 07:00-08:00 in winter.
        assert await at(utc(2026, 7, 1, 5, 59)) is False
        assert await at(utc(2026, 7, 1, 6, 0)) is True
        _, body = await a.get("/api/v1/maintenance")
        [window] = body["windows"]
        assert (window["open"], window["start"], window["end"]) == (
            True, utc(2026, 7, 1, 6), utc(2026, 7, 1, 7))
        assert await at(utc(2026, 7, 1, 6, 59, 59)) is True
        assert await at(utc(2026, 7, 1, 7, 0)) is False
        assert await at(utc(2026, 1, 15, 6, 30)) is False
        assert await at(utc(2026, 1, 15, 7, 30)) is True
        _, body = await a.get("/api/v1/maintenance")
        assert body["windows"][0]["end"] == utc(2026, 1, 15, 8)
        assert await at(utc(2026, 1, 15, 8, 0)) is False
        # Each opening and closing was announced once.
        started = await wait_events(a, "maintenance.started", 2)
        ended = await wait_events(a, "maintenance.ended", 2)
        assert sorted(e["data"]["start"] for e in started) == sorted(
            e["data"]["start"] for e in ended) == [utc(2026, 1, 15, 7), utc(2026, 7, 1, 6)]


async def test_stopping_a_configured_window_skips_only_its_open_occurrence(tmp_path,
                                                                         quiet_start):
    daily = {"name": "daily", "cron": "0 12 * * *", "duration": 3600,
             "timezone": "Asia/Kolkata"}  # 06:30-07:30 UTC
    path = with_windows(tmp_path / "nebula.toml", [daily])
    async with run_agent(load(path), {"switchable": Fixable()}, schedule=False) as a:
        runtime = a.agent.runtime("maintenance")
        runtime.clock = lambda: utc(2026, 3, 2, 6, 45)
        await runtime.step()
        assert "daily" in runtime.open
        assert (await a.post("/api/v1/maintenance/daily/stop"))[0] == 200
        assert "daily" not in runtime.open
        assert (await a.post("/api/v1/maintenance/daily/stop"))[0] == 409
        runtime.clock = lambda: utc(2026, 3, 3, 6, 45)  # the next day's occurrence opens
        await runtime.step()
        assert "daily" in runtime.open


def test_window_arithmetic():
    assert [parse_duration(v) for v in ("90m", "2h", "1h30m", "1d", "45s", 30)] == [
        5400, 7200, 5400, 86400, 45, 30]
    for bad in ("soon", "", 0, -5, True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    once = Window.from_section({"name": "w", "start": "2026-12-24T22:00",
                                "end": "2026-12-25T02:00", "timezone": "Europe/Berlin"})
    assert (once.start, once.end) == (utc(2026, 12, 24, 21), utc(2026, 12, 25, 1))
    assert once.span_at(utc(2026, 12, 24, 20, 59)) is None
    assert once.span_at(utc(2026, 12, 25, 0)) == (once.start, once.end)
    assert once.covers("any.check", "any")
    narrow = Window(name="n", start=0, end=1, checks=("docker.*",), plugins=("system",))
    assert narrow.covers("docker.web", "docker") and narrow.covers("system.cpu", "system")
    assert not narrow.covers("postgres.db", "postgres")


def test_bad_windows_name_file_line_and_key(tmp_path):
    path = tmp_path / "nebula.toml"
    path.write_text(
        '[agent]\nport = 0\n\n'
        '[[maintenance]]\nname = "a"\ncron = "0 25 * * *"\nduration = "2x"\n'
        'timezone = "Mars/Olympus"\n\n'
        '[[maintenance]]\nname = "a"\nstart = "2026-12-25T02:00"\nend = "2026-12-24T22:00"\n\n'
        '[[maintenance]]\nname = "b"\nstart = "2026-12-25T02:00"\nchecks = "docker.web"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    lines = sorted(str(p) for p in caught.value.problems)
    assert lines == sorted([
        f"{path}:6: maintenance.0.cron: '0 25 * * *' is not a cron expression "
        "(\"0 3 * * 0\")",
        f"{path}:7: maintenance.0.duration: '2x' is not a duration (seconds, or like 2h, "
        "90m, 1h30m)",
        f"{path}:8: maintenance.0.timezone: unknown time zone 'Mars/Olympus' (an IANA "
        "name: Europe/Berlin, UTC)",
        f"{path}:11: maintenance.1.name: window name 'a' is already used by maintenance.0",
        f"{path}:13: maintenance.1.end: must be after start",
        f"{path}:15: maintenance.2: needs start and end (one-off) or cron and duration "
        "(recurring)",
        f"{path}:18: maintenance.2.checks: 'docker.web' is not of type 'array'",
    ]), lines
    path.write_text('[maintenance]\nname = "a"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (f"{path}:1: maintenance: must be an array of tables, one "
                                 "[[maintenance]] per window")


async def test_the_maintenance_page_lists_windows_with_stop_and_start_for_admins(
        tmp_path, quiet_start):
    path = with_windows(tmp_path / "nebula.toml", [
        {"name": "nightly", "cron": "0 2 * * *", "duration": "1h", "timezone": "UTC",
         "reason": "backups <b>"}])
    async with run_agent(load(path), {"switchable": Fixable()}, schedule=False) as a:
        await a.post("/api/v1/maintenance/start", {"duration": "1h", "name": "swap",
                                                   "checks": "switchable.switch, x.*"})
        status, page = await a.get("/maintenance")
        assert status == 200
        assert "<h1>Maintenance</h1>" in page and 'href="/maintenance"' in page  # in the nav
        assert "nightly" in page and "backups &lt;b&gt;" in page  # escaped
        assert 'data-api="/api/v1/maintenance/swap/stop"' in page  # open: a stop button
        assert 'data-api="/api/v1/maintenance/nightly/stop"' not in page  # closed: none
        assert 'data-api="/api/v1/maintenance/start"' in page
        assert "switchable.switch, x.*" in page  # the form's text list was split and kept
        status, part = await a.get("/maintenance/part")
        assert status == 200 and "swap" in part
        # A viewer sees the windows, not the buttons.
        status, page = await a.get("/maintenance", token=await viewer_token(a))
        assert status == 200 and "swap" in page
        assert "data-api=" not in page.split("<main")[1]
