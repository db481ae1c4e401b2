"""The settings pages in real headless Chromium: an admin changes a plugin's setting from
the navigation, sees it saved and applied, meets an out-of-range value refused, and the
pages pass axe at desktop width and fit a 390 px phone screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_more import serious_violations


def test_change_a_setting_from_the_panel_after_a_value_out_of_range(page, live_agent):
    sign_in(page)
    # Exact: the live feed links "settings plugin started" too.
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Plugins and settings")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("region", name="plugins").get_by_role("link", name="switchable").click()
    before = live_agent.config.path.read_text()
    page.get_by_label("Threshold").fill("-3")
    page.get_by_role("button", name="Save and apply").click()
    # The schema's minimum is the input's too: the browser says why before anything is sent
    # (the server's own refusal is tests/web/test_settings_pages.py's).
    message = page.get_by_label("Threshold").evaluate("input => input.validationMessage")
    assert "0" in message and live_agent.config.path.read_text() == before
    page.get_by_label("Threshold").fill("8")
    page.get_by_role("button", name="Save and apply").click()
    expect(page.get_by_role("status").filter(has_text="Saved and applied")).to_be_visible()
    expect(page.get_by_label("Threshold")).to_have_value("8")
    assert "threshold = 8" in live_agent.config.path.read_text()


def test_settings_fit_a_phone_screen(page, live_agent):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page)
    page.goto("/settings/plugin?name=switchable")
    box = page.get_by_role("button", name="Save and apply").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the settings form scrolls sideways: {width} px wide"
