"""More of the panel in real headless Chromium: enrolling in TOTP from the panel, denying
with a reason, plugin panels refreshed by core events about their plugin, and a check's
first result arriving live."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.web.conftest import PASSWORD, decode_qr, sign_in
from tests.web.showcase import SlowStart


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_enrol_in_totp_sign_in_with_a_recovery_code_and_turn_it_off(page, live_agent):
    sign_in(page)
    page.get_by_role("link", name="Security").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = page.locator("[data-totp-secret]").get_attribute("data-totp-secret")
    expect(page.locator("code.uri")).to_contain_text("otpauth://totp/")
    expect(page.locator("code.uri")).to_contain_text(f"secret={secret}")
    qr = page.get_by_role("img", name="QR code of the setup link")
    expect(qr).to_be_visible()
    assert decode_qr(qr) == page.locator("code.uri").inner_text()
    assert serious_violations(page) == []
    # Nothing is saved until a code proves the app has the secret.
    assert live_agent.api("GET", "/api/v1/users")[1]["users"][0]["totp"] is False
    page.get_by_label("Code from your app").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong code")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="recovery codes").locator("li")
    expect(codes).to_have_count(10)
    assert serious_violations(page) == []
    recovery = codes.first.inner_text()
    assert live_agent.api("GET", "/api/v1/users")[1]["users"][0]["totp"] is True
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("Signing in asks for a code")).to_be_visible()
    expect(page.get_by_text(recovery)).to_have_count(0)  # shown once only

    page.get_by_role("button", name="Log out", exact=True).click()
    sign_in(page)
    page.get_by_label("Authentication code").fill(recovery)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.goto("/security")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_role("button", name="Turn off two-factor authentication").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    _, failed = live_agent.api("GET", "/api/v1/failed-logins")
    assert failed["failed_logins"][0]["reason"] == "wrong password (turning off TOTP)"
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Turn off two-factor authentication").click()
    expect(page.get_by_role("button", name="Set up two-factor authentication")).to_be_visible()
    assert live_agent.api("GET", "/api/v1/users")[1]["users"][0]["totp"] is False


def test_deny_with_a_reason_shown_in_approvals_and_the_audit_log(page, live_agent):
    status, body = live_agent.api("POST", "/api/v1/actions/switchable.delete/run",
                                  {"params": {"target": "db2"}})
    assert status == 202
    sign_in(page)
    page.goto("/approvals")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    row = page.locator("article.approval", has_text="db2")
    row.get_by_label("Reason").fill("not during business hours")
    # Another request arrives while the reason is being typed: the table waits.
    live_agent.api("POST", "/api/v1/actions/switchable.delete/run", {"params": {"target": "db3"}})
    expect(page.locator("[data-pending]")).to_have_text("2")
    page.wait_for_timeout(500)  # well past the 150 ms a refresh would take
    expect(row.get_by_label("Reason")).to_have_value("not during business hours")
    row.get_by_role("button", name="Deny").click()
    row.get_by_role("button", name="Confirm deny").click()
    expect(row).to_contain_text("denied")
    expect(page.locator("article.approval", has_text="db3")).to_contain_text("pending")
    expect(row.locator(".reason")).to_have_text("not during business hours")
    assert live_agent.plugins["switchable"].deleted == []
    approval = live_agent.api("GET", f"/api/v1/approvals/{body['approval']['id']}")[1]
    assert approval["reason"] == "not during business hours"

    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Outcome").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("not during business hours")


def test_plugin_panels_refresh_on_core_events_about_their_plugin(page, live_agent):
    showcase = live_agent.plugins["showcase"]
    bus = live_agent.agent.bus
    sign_in(page)
    page.goto("/plugin/showcase")
    stat = page.locator(".stat-value")
    expect(stat).to_have_text("7 pcs")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    # action.ran comes from the core, naming the plugin's action.
    form = page.locator('form[data-action="showcase.restock"]')
    form.get_by_label("To").fill("12")
    form.get_by_role("button", name="Run").click()
    form.get_by_role("button", name="Confirm").click()
    expect(stat).to_have_text("12 pcs")
    # Any core event naming the plugin or one of its checks, not only the plugin's own.
    for n, data in ((13, {"plugin": "showcase"}), (14, {"check": "showcase.anything"})):
        showcase.value = n
        live_agent.call(bus.publish("core.something", data, "core"))
        expect(stat).to_have_text(f"{n} pcs")


@pytest.mark.parametrize("live_agent", [{"slow": SlowStart()}], indirect=True)
def test_a_checks_first_result_reaches_its_tile_live(page, live_agent):
    sign_in(page)
    tile = page.locator('[data-check="slow.first"]')
    expect(tile).to_have_attribute("data-status", "unknown")
    expect(tile.locator(".summary")).to_have_text("not run yet")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    live_agent.call(live_agent.plugins["slow"].release())
    expect(tile).to_have_attribute("data-status", "warning")
    expect(tile.locator(".summary")).to_have_text("answered at last")
    expect(tile.locator(".last-run")).to_have_text(re.compile(r"\d\d:\d\d:\d\d UTC"))
    # A first result is internal bookkeeping: the live feed does not show it.
    expect(page.locator("[data-feed]")).not_to_contain_text("first result")


def test_the_jarvis_pane_says_why_jarvis_is_disabled(page, live_agent):
    sign_in(page)
    status = page.locator("[data-jarvis] .jarvis-status")
    expect(status).to_have_text(re.compile(r"^Jarvis disabled: Jarvis is not configured"))
    expect(page.get_by_label("Ask Jarvis")).to_be_hidden()
