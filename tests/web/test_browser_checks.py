"""Issue 18 items 2-4 in real headless Chromium: a tile opens its check's page, whose chart
is drawn in the metric's unit and whose range links work; the overview's needs-attention
strip names a failing check and its count chips filter the tiles; a page whose agent went
away is dimmed and says since when; and the overview, a check page, the settings page and
a public status page (to a signed-out browser) pass axe at 1440 px and fit a 390 px phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from nebula.api import Status
from tests.web.conftest import sign_in
from tests.web.test_browser_more import serious_violations
from tests.web.test_check_page import Gauge

pytestmark = pytest.mark.e2e
WITH_GAUGE = [{"gauge": Gauge()}]


@pytest.fixture
def live_config() -> dict[str, Any]:
    return {"status_page": [{
        "slug": "home", "title": "Home services", "public": True,
        "description": "What the family uses",
        "groups": [{"name": "Services", "checks": [
            {"check": "gauge.level", "name": "Storage"},
            {"check": "switchable.switch", "name": "Light switch"}]}]}]}


def _run_gauge(live_agent: Any, *levels: float, status: Status = Status.OK) -> None:
    gauge = live_agent.plugins["gauge"]
    gauge.status = status
    for level in levels:
        gauge.level = level
        code, body = live_agent.api("POST", "/api/v1/checks/run", {"names": ["gauge.level"]})
        assert code == 200, body


def _fits_a_phone(page: Any, path: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} scrolls sideways on a phone: {width} px wide"


@pytest.mark.parametrize("live_agent", WITH_GAUGE, indirect=True)
def test_a_tile_opens_its_check_page_with_a_chart_in_its_unit_and_ranges(page, live_agent):
    _run_gauge(live_agent, 40, 55, 70)
    sign_in(page)
    page.locator('[data-check="gauge.level"]').get_by_role("link", name="Gauge level").click()
    expect(page).to_have_url(re.compile(r"/checks/gauge\.level$"))
    expect(page.get_by_role("heading", name="Gauge level", level=1)).to_be_visible()
    # The chart names its metric and its values in the metric's unit (percent); the
    # scheduler may have run the check once more on its own.
    chart = page.get_by_role("img", name=re.compile(r"^used: average \d+ %, lowest \d+ %, "
                                                    r"highest 70 %"))
    expect(chart).to_be_visible()
    expect(chart.locator("text.axis").filter(has_text="%").first).to_be_attached()
    expect(page.get_by_role("img", name=re.compile("^Status over the range"))).to_be_visible()
    # The chart takes the room it draws in (nothing after it is drawn over), and its axis
    # labels are plain text, not outlined by the plugin panels' chart rules.
    svg_bottom, figure_bottom = page.locator("figure.chart").first.evaluate(
        "f => [f.querySelector('svg').getBoundingClientRect().bottom,"
        " f.getBoundingClientRect().bottom]")
    assert svg_bottom <= figure_bottom + 0.5, (svg_bottom, figure_bottom)
    assert chart.locator("text.axis").first.evaluate("t => getComputedStyle(t).stroke") == "none"
    ranges = page.get_by_role("navigation", name="time range")
    expect(ranges.get_by_role("link", name="24h")).to_have_attribute("aria-current", "page")
    ranges.get_by_role("link", name="7d").click()
    expect(page).to_have_url(re.compile(r"/checks/gauge\.level\?range=7d$"))
    expect(ranges.get_by_role("link", name="7d")).to_have_attribute("aria-current", "page")
    expect(ranges.get_by_role("link", name="24h")).not_to_have_attribute("aria-current", "page")
    expect(chart).to_be_visible()  # the same samples from the 5-minute rollups
    ranges.get_by_role("link", name="1h").click()
    expect(page).to_have_url(re.compile(r"\?range=1h$"))
    expect(chart).to_be_visible()


@pytest.mark.parametrize("live_agent", WITH_GAUGE, indirect=True)
def test_the_attention_strip_names_a_failing_check_and_a_count_chip_filters(page, live_agent):
    _run_gauge(live_agent, 42)
    sign_in(page)
    strip = page.get_by_role("region", name="Needs attention")
    expect(strip).to_contain_text("are ok")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    # The strip follows the checks live.
    _run_gauge(live_agent, 97, status=Status.CRITICAL)
    expect(strip.get_by_role("link", name="Gauge level")).to_be_visible()
    expect(strip).to_contain_text("97 % used")
    gauge_tile = page.locator('[data-check="gauge.level"]')
    switch_tile = page.locator('[data-check="switchable.switch"]')
    expect(switch_tile).to_be_visible()
    page.get_by_role("list", name="checks by status").get_by_role(
        "link", name=re.compile(r"critical$")).click()
    expect(page).to_have_url(re.compile(r"/\?status=critical$"))
    expect(gauge_tile).to_be_visible()
    expect(switch_tile).to_be_hidden()
    expect(page.get_by_text("Showing critical checks only")).to_be_visible()
    # From the strip to the check's page.
    strip.get_by_role("link", name="Gauge level").click()
    expect(page).to_have_url(re.compile(r"/checks/gauge\.level$"))


def test_a_page_whose_agent_went_away_is_dimmed_and_says_since_when(page, live_agent):
    sign_in(page)
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "online")
    tile = page.locator('[data-check="switchable.switch"]')
    assert tile.evaluate("t => getComputedStyle(t).opacity") == "1"
    live_agent.call(live_agent._stop())
    try:
        expect(conn).to_have_attribute("data-state", "offline")
        expect(page.locator("body")).to_have_attribute("data-stale", "true")
        expect(conn).to_contain_text(re.compile(r"agent offline since \d\d:\d\d"))
        assert float(tile.evaluate("t => getComputedStyle(t).opacity")) < 1
    finally:
        live_agent.call(live_agent._start())
    # Back: the page reconnects by itself and is no longer marked stale.
    expect(conn).to_have_attribute("data-state", "online", timeout=30_000)
    expect(page.locator("body")).not_to_have_attribute("data-stale", "true")
    assert tile.evaluate("t => getComputedStyle(t).opacity") == "1"


@pytest.mark.parametrize("live_agent", WITH_GAUGE, indirect=True)
def test_the_new_pages_pass_axe_at_desktop_width_and_fit_a_phone(page, live_agent):
    _run_gauge(live_agent, 30, 60)
    _run_gauge(live_agent, 91, status=Status.WARNING)  # the strip and chips have content
    # The public status page, to a browser that never signed in.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/status/home")
    expect(page.get_by_role("heading", name="Home services")).to_be_visible()
    expect(page.get_by_role("region", name="Services").get_by_text("Storage")).to_be_visible()
    assert serious_violations(page) == [], "/status/home"
    _fits_a_phone(page, "/status/home")

    sign_in(page)
    for path, heading in (("/", "Overview"), ("/checks/gauge.level?range=24h", "Gauge level"),
                          ("/checks/gauge.level?range=30d", "Gauge level"),
                          ("/settings", "Plugins and settings")):
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        assert serious_violations(page) == [], path
        _fits_a_phone(page, path)
