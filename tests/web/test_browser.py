"""The panel in real headless Chromium: sign in, live tiles, actions, approvals, audit,
sign out, the phone viewport and an accessibility scan."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from nebula.api import Status
from tests.web.conftest import PASSWORD, screenshot, sign_in


def test_sign_in_and_see_tiles_grouped_by_plugin(page, live_agent):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)$"))
    sign_in(page)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    tile = page.locator('[data-check="switchable.switch"]')
    expect(tile).to_have_attribute("data-status", "ok")
    expect(tile.locator(".badge")).to_have_text("ok")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.get_by_role("heading", name="switchable")).to_be_visible()
    screenshot(page, "overview")


def test_a_tile_changes_live_when_its_check_changes(page, live_agent):
    sign_in(page)
    tile = page.locator('[data-check="switchable.switch"]')
    expect(tile).to_have_attribute("data-status", "ok")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    live_agent.plugins["switchable"].status = Status.CRITICAL
    live_agent.api("POST", "/api/v1/checks/run", {"names": ["switchable.switch"]})
    # No reload: the WebSocket event patches the tile and the counts in place.
    expect(tile).to_have_attribute("data-status", "critical")
    expect(tile.locator(".badge")).to_have_text("critical")
    expect(tile.locator(".summary")).to_have_text("switch is critical")
    expect(page.locator('[data-count="critical"]')).to_have_text("1")
    # In words, linked to the check's page.
    first = page.locator("[data-feed] li").first
    expect(first).to_contain_text("switchable.switch ok → critical: switch is critical")
    expect(first.get_by_role("link")).to_have_attribute("href", "/checks/switchable.switch")


def test_run_an_action_from_its_generated_form(page, live_agent):
    sign_in(page)
    page.goto("/plugin/switchable")
    form = page.locator('form[data-action="switchable.echo"]')
    form.get_by_label("Word").fill("hello")
    form.get_by_label("Times").fill("2")
    form.get_by_role("button", name="Run").click()
    # A confirmation step says in words what will run before anything does.
    expect(form.locator(".confirm-text")).to_have_text("Run Echo with word hello, times 2?")
    assert live_agent.call(live_agent.agent.actions.audit_log()) == []
    form.get_by_role("button", name="Confirm").click()
    # The result as key-values, not JSON.
    expect(form.locator(".result .ok")).to_contain_text("Done")
    inner = form.locator(".result dl.kv dl.kv")  # {"echo": {"word": …, "times": …}}
    expect(inner.locator("dt").first).to_have_text("Word")
    expect(inner.locator("dd").first).to_have_text("hello")
    expect(form.locator(".result")).not_to_contain_text("{")
    _, audit = live_agent.api("GET", "/api/v1/audit?action=switchable.echo")
    assert audit["audit"][0]["actor"] == "user:admin"


def test_request_and_approve_a_destructive_action_then_audit_and_sign_out(page, live_agent):
    plugin = live_agent.plugins["switchable"]
    sign_in(page)
    page.goto("/plugin/switchable")
    form = page.locator('form[data-action="switchable.delete"]')
    form.get_by_label("Target").fill("db1")
    form.get_by_role("button", name="Request approval").click()
    form.get_by_role("button", name="Confirm").click()
    expect(form.locator(".result")).to_contain_text("Waiting for approval")
    assert plugin.deleted == []
    expect(page.locator("[data-pending]")).to_have_text("1")

    page.get_by_role("link", name="Review approvals").click()
    row = page.locator("article.approval", has_text="switchable.delete")
    expect(row).to_contain_text("pending")
    row.get_by_role("button", name="Approve").click()
    row.get_by_role("button", name="Confirm approve").click()
    expect(page.locator("article.approval", has_text="switchable.delete")).to_contain_text(
        "approved")
    assert plugin.deleted == ["db1"]
    expect(page.locator("[data-pending]")).to_have_text("0")

    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Search").fill("switchable.delete")
    page.get_by_label("Outcome").select_option("ok")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("approved by user:admin")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/audit")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_sign_in_with_a_totp_second_factor(page, live_agent):
    import pyotp

    status, totp = live_agent.api("POST", "/api/v1/users/admin/totp")
    assert status == 201
    sign_in(page)
    expect(page.get_by_label("Authentication code")).to_be_visible()
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong code.")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(totp["secret"]).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_plugin_page_renders_every_panel_kind_and_refreshes_live(page, live_agent):
    sign_in(page)
    page.goto("/plugin/showcase")
    expect(page.locator(".stat-value")).to_have_text("7 pcs")
    expect(page.locator(".kv")).to_contain_text("1.2.3")
    expect(page.locator("section.panel", has_text="Containers").locator("table")).to_contain_text(
        "exited")
    # Panel data is escaped, never markup.
    expect(page.locator("ul.plain li").first).to_have_text("first <b>item</b>")
    expect(page.get_by_role("img", name=re.compile(r"^Load: 10 points"))).to_be_visible()
    screenshot(page, "plugin-showcase")
    # The page's event stream must be up before the event it should react to is sent.
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    live_agent.plugins["showcase"].value = 8
    live_agent.call(live_agent.agent.bus.publish("showcase.poke", {}, "showcase"))
    expect(page.locator(".stat-value")).to_have_text("8 pcs")


def test_phone_viewport_has_no_sideways_scroll(browser, live_agent):
    context = browser.new_context(base_url=live_agent.url, viewport={"width": 390,
                                                                    "height": 844},
                                  is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        sign_in(page)
        expect(page.locator('[data-check="switchable.switch"]')).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width}px wide on a 390px phone"
        screenshot(page, "overview-phone")
        live_agent.api("POST", "/api/v1/actions/switchable.delete/run",
                       {"params": {"target": "x"}})
        for path in ("/plugin/switchable", "/approvals", "/security"):
            page.goto(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_role("button", name="Set up two-factor authentication").click()
        expect(page.get_by_role("img", name="QR code of the setup link")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "totp-setup-phone")
    finally:
        context.close()


def test_no_serious_or_critical_accessibility_violations(page, live_agent):
    from axe_playwright_python.sync_playwright import Axe

    live_agent.api("POST", "/api/v1/actions/switchable.delete/run", {"params": {"target": "x"}})
    axe = Axe()
    page.goto("/login")
    pages = {"login": None}
    sign_in(page)
    for path in ("/", "/plugin/switchable", "/plugin/showcase", "/approvals", "/audit",
                 "/events", "/security"):
        pages[path] = path
    problems = []
    for name, path in pages.items():
        if path is not None:
            page.goto(path)
        else:
            page.goto("/login")
        expect(page.locator("main")).to_be_visible()
        results = axe.run(page)
        problems += [f"{name}: {v['id']} ({v['impact']}): {v['help']}"
                     for v in results.response["violations"]
                     if v["impact"] in ("serious", "critical")]
        if path is None:
            sign_in(page)
    assert problems == []


def test_page_shows_offline_while_the_agent_restarts_and_reconnects(page, live_agent):
    sign_in(page)
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "online")
    live_agent.call(live_agent._stop())
    try:
        expect(conn).to_have_attribute("data-state", "offline")
        expect(conn).to_contain_text("offline")
    finally:
        live_agent.call(live_agent._start())
    # Back by itself, still signed in (sessions live in the store), and live again.
    expect(conn).to_have_attribute("data-state", "online", timeout=15_000)
    live_agent.plugins["switchable"].status = Status.WARNING
    live_agent.api("POST", "/api/v1/checks/run", {"names": ["switchable.switch"]})
    expect(page.locator('[data-check="switchable.switch"]')).to_have_attribute(
        "data-status", "warning")


def test_keyboard_alone_reaches_content_and_runs_an_action(page, live_agent):
    sign_in(page)
    page.goto("/plugin/switchable")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    # A visible focus ring, from our :focus-visible rule.
    assert skip.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    word = page.locator('form[data-action="switchable.echo"]').get_by_label("Word")
    word.focus()
    page.keyboard.type("typed")
    page.keyboard.press("Enter")  # submits: the confirmation takes the focus
    confirm = page.locator('form[data-action="switchable.echo"]').get_by_role(
        "button", name="Confirm")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('form[data-action="switchable.echo"] .result')).to_contain_text(
        "typed")
