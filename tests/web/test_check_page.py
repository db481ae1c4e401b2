"""A page per check and the overview that puts problems first, over real HTTP: charts in
the metric's unit from the stored history, the status timeline, what fixes the check, its
recent results; the needs-attention list, count chips that filter, tiles linked."""

from __future__ import annotations

from typing import Any

import tomlkit

from nebula.api import Action, Check, CheckResult, Manifest, Status, hookimpl
from nebula.config import load
from nebula.testing import run_agent, write_config
from nebula.units import Unit


class Gauge:
    manifest = Manifest(api_version="1.0", description="a gauge the test sets")

    def __init__(self) -> None:
        self.level = 42.0
        self.status = Status.OK

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        async def run() -> CheckResult:
            return CheckResult(self.status, f"{self.level:g} % used", {"used": self.level})

        return [Check("gauge.level", run, title="Gauge level", interval=3600,
                      description="How full the gauge is; warning above 80 %.",
                      units={"used": Unit.PERCENT})]

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        async def drain(params: Any) -> dict[str, Any]:
            self.level = 0
            return {"drained": True}

        return [Action("gauge.drain", drain, title="Drain the gauge")]


def _config(tmp_path) -> Any:
    path = write_config(tmp_path / "nebula.toml", {"flap_threshold": 1})
    doc = tomlkit.parse(path.read_text())
    doc["remediation"] = [{"name": "drain-when-full", "check": "gauge.level",
                           "status": "warning", "cycles": 2, "action": "gauge.drain"}]
    path.write_text(tomlkit.dumps(doc))
    return load(path)


async def test_the_check_page_draws_history_in_units_and_says_what_fixes_it(tmp_path):
    gauge = Gauge()
    async with run_agent(_config(tmp_path), {"gauge": gauge}) as a:
        for level in (40, 55, 70):
            gauge.level = level
            await a.run_check("gauge.level")
        status, page = await a.get("/checks/gauge.level?range=1h")
        assert status == 200, page
        assert "How full the gauge is" in page and "runs every 1 h" in page
        # The chart's axis and its summary in the check's unit, from the stored history.
        assert 'role="img" aria-label="used: average 55 %' in page
        assert "highest 70 %" in page and '<text class="axis"' in page
        assert 'class="timeline"' in page and "70 % used" in page
        assert "drain-when-full" in page and "2 results warning in a row" in page
        assert 'data-action="gauge.drain"' in page  # its plugin's action, as a form
        assert page.count('class="badge status-ok"') >= 4  # now + three recent results
        assert (await a.get("/checks/gauge.level?range=2y"))[0] == 422
        assert (await a.get("/checks/nosuch.check"))[0] == 404


async def test_the_overview_puts_problems_first_and_its_counts_filter(tmp_path):
    gauge = Gauge()
    async with run_agent(_config(tmp_path), {"gauge": gauge}) as a:
        await a.run_check("gauge.level")
        status, page = await a.get("/")
        assert "The one check is ok." in page
        assert '<a href="/checks/gauge.level">Gauge level</a>' in page  # the tile links
        gauge.status, gauge.level = Status.WARNING, 91
        await a.run_check("gauge.level")
        status, page = await a.get("/")
        attention = page.split('id="att-h"')[1].split("</section>")[0]
        assert "Gauge level" in attention and "91 % used" in attention
        assert 'href="/?status=warning"' in page
        status, page = await a.get("/?status=warning")
        assert 'class="groups" data-filter="warning"' in page and "show all" in page
        status, fragment = await a.get("/overview/attention")
        assert status == 200 and "91 % used" in fragment
        # A check in a maintenance window says so on its tile.
        assert "in maintenance" not in page
        a.agent.health.in_maintenance = lambda cs: True
        await a.run_check("gauge.level")
        status, page = await a.get("/")
        assert '<span class="badge status-maintenance">in maintenance</span>' in page
