"""The advisor's forecasts from history with a known slope: a disk full in N days within 10 %,
spikes and noise notwithstanding; a flat or shrinking disk is not told; a growing database
is; the check warns for a disk full within warning_days; the weekly digest is an event."""

from __future__ import annotations

import re

import pytest
from advisor_history import feed

from nebula.api import Unit
from nebula.testing import installed_plugin

PLUGINS = {"advisor": installed_plugin("advisor")}
CONFIG = {"advisor": {"enabled": True, "interval": 3600}}


async def suggestions(agent):
    status, body = await agent.post("/api/v1/actions/advisor.suggestions/run", {"params": {}})
    assert status == 200 and body["status"] == "ok", body
    return body["result"]["suggestions"]


@pytest.mark.parametrize("slope", [0.5, 1.5, 4.0])
async def test_a_disk_full_forecast_is_within_ten_percent(nebula_agent, slope):
    async with nebula_agent(PLUGINS, config=CONFIG) as a:
        level = 60.0  # now; full in (100 - 60) / slope days
        await feed(a, "system.disk", "disk./srv.percent", lambda ago: level - slope * ago,
                   unit=Unit.PERCENT, noise=0.8)
        found = [s for s in await suggestions(a) if s["kind"] == "disk_full"]
        assert [s["target"] for s in found] == ["/srv"]
        truth = (100 - level) / slope
        assert found[0]["eta_days"] == pytest.approx(truth, rel=0.10)
        assert found[0]["chart"] == "/checks/system.disk?range=30d"
        assert found[0]["severity"] == ("warning" if truth <= 14 else "info")


async def test_flat_and_shrinking_disks_are_not_told(nebula_agent):
    async with nebula_agent(PLUGINS, config=CONFIG) as a:
        await feed(a, "system.disk", "disk./.percent", lambda ago: 50.0, noise=1.0)
        await feed(a, "system.disk", "disk./home.percent", lambda ago: 50 + ago, seed=3)
        assert [s for s in await suggestions(a) if s["kind"] == "disk_full"] == []


async def test_a_growing_database_and_the_check_warns_for_a_disk_soon_full(nebula_agent):
    async with nebula_agent(PLUGINS, config=CONFIG) as a:
        await feed(a, "postgres.databases", "app.size_bytes",
                   lambda ago: 2e9 - 1e8 * ago, unit=Unit.BYTES)
        await feed(a, "system.disk", "disk./.percent", lambda ago: 90 - 2 * ago)
        found = {s["kind"]: s for s in await suggestions(a)}
        # 100 MB a day is 95.4 MiB; the fit is on rollups, so within a few percent.
        grows = re.fullmatch(r"database app grows ([\d.]+) MiB a day",
                             found["database_growth"]["title"])
        assert grows and float(grows[1]) == pytest.approx(95.4, rel=0.05)
        assert found["database_growth"]["evidence"].startswith("1.9 GiB now, 4.")
        result = await a.run_check("advisor.forecast")
        assert result["status"] == "warning" and "/ full in" in result["summary"]


async def test_the_weekly_digest_is_an_event_notify_can_route(nebula_agent):
    config = {"advisor": {**CONFIG["advisor"], "digest_cron": "0 9 * * 1"}}
    async with nebula_agent(PLUGINS, config=config) as a:
        await feed(a, "system.disk", "disk./.percent", lambda ago: 90 - 2 * ago)
        await a.agent.scheduler.jobs["job:advisor.digest"].run()
        [event] = [e for e in a.agent.bus.recent if e["topic"] == "advisor.digest"]
        assert event["data"]["warnings"] == 1 and "/ full in" in event["data"]["text"]
    async with nebula_agent(PLUGINS, config=CONFIG) as a:  # without digest_cron: no job
        assert "job:advisor.digest" not in a.agent.scheduler.jobs


async def test_a_container_whose_memory_keeps_growing_and_one_idle_for_a_week(nebula_agent):
    async with nebula_agent(PLUGINS, config=CONFIG) as a:
        gib = 1024 ** 3
        # 1 GiB a week ago, 40 % more now; another flat; one idle and one busy for 8 days.
        await feed(a, "docker.usage", "web.memory_bytes", lambda ago: 1.4 * gib - 0.4 * gib *
                   ago / 7, days=8, unit=Unit.BYTES)
        await feed(a, "docker.usage", "db.memory_bytes", lambda ago: 2 * gib, days=8)
        await feed(a, "docker.usage", "cron.cpu_percent", lambda ago: 0.1, days=8)
        await feed(a, "docker.usage", "busy.cpu_percent", lambda ago: 20.0, days=8)
        await feed(a, "docker.usage", "new.cpu_percent", lambda ago: 0.0, days=2)
        found = {(s["kind"], s["target"]): s for s in await suggestions(a)}
        grown = found[("memory_growth", "web")]
        assert grown["title"].startswith("container web's memory grew 4")  # ~40 %
        assert grown["action"] == "docker.restart" and grown["params"] == {"container": "web"}
        assert ("memory_growth", "db") not in found
        assert found[("idle_container", "cron")]["action"] == "docker.stop"
        # Busy, or not watched a week yet: not idle.
        assert ("idle_container", "busy") not in found and ("idle_container", "new") not in found
