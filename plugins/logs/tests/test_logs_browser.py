"""The panel's Logs page in real headless Chromium: a search with its hits highlighted,
context on demand, the histogram, and the live tail with pause and resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import PLUGINS
from tests.waiting import wait_for
from tests.web.conftest import browser, live_agent, page, sign_in

pytestmark = pytest.mark.e2e

__all__ = ["browser", "live_agent", "page"]  # the panel's fixtures, used here


@pytest.fixture
def app_log(tmp_path: Path) -> Path:
    log = tmp_path / "app.log"
    log.write_text("boot ok\nERROR payment failed for order 7\nrequest served\n")
    return log


@pytest.fixture
def live_config(app_log: Path) -> dict[str, Any]:
    return {"plugins": {"logs": {"files": [{"name": "app", "path": str(app_log)}],
                                 "poll_interval": 0.02}}}


def append(log: Path, line: str) -> None:
    with log.open("a") as handle:
        handle.write(line + "\n")


@pytest.mark.parametrize("live_agent", [PLUGINS], indirect=True)
def test_search_highlight_context_and_live_tail(page: Any, live_agent: Any,
                                                app_log: Path) -> None:
    wait_for(lambda: live_agent.api("GET", "/api/v1/logs/sources")[1]["store"]["lines"] == 3)
    sign_in(page)
    page.get_by_role("link", name="Logs", exact=True).click()
    lines = page.locator("#logs-lines li")
    expect(lines).to_have_count(3)  # the page opens on the last day's lines
    page.get_by_label("Search query").fill("payment")
    page.get_by_role("button", name="Search").click()
    expect(lines).to_have_count(1)
    expect(lines.first.locator("mark")).to_have_text("payment")
    expect(page.locator("#logs-histogram span")).to_have_count(60)
    lines.first.get_by_role("button", name="context").click()
    expect(page.locator("#logs-lines li.context")).to_have_count(2)
    expect(page.locator("#logs-lines li.context").first).to_contain_text("boot ok")

    page.get_by_label("Search query").fill("")
    page.get_by_role("button", name="Live tail").click()
    expect(page.locator("#logs-status")).to_have_text("following new lines…")
    append(app_log, "<b>new</b> line one")
    expect(lines.first).to_contain_text("<b>new</b> line one")  # as text, not as HTML
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#logs-status")).to_have_text("paused; new lines wait")  # acknowledged
    append(app_log, "while paused")
    wait_for(lambda: "while paused" in json.dumps(live_agent.api("GET", "/api/v1/logs")[1]))
    expect(lines.first).to_contain_text("line one")  # stored, but not shown while paused
    page.get_by_role("button", name="Resume").click()
    expect(lines.first).to_contain_text("while paused")
    expect(page.locator("#logs-lines li", has_text="line one")).to_have_count(1)
