"""Connecting to Google as the owner does it, through the agent's HTTP API and a browser
following the stand-in's redirects: loopback consent with PKCE, the pasted-redirect
fallback, the device flow, and disconnecting (which needs an admin's approval)."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from google_server import SCOPE
from google_steps import (
    browse,
    check,
    connect,
    connected,
    panel_data,
    result_of,
    run_action,
)

import nebula_google.connect as connect_module
from tests.test_cli_approvals import nebula_async
from tests.waiting import eventually


async def test_loopback_consent_with_pkce_connects(start_google, google) -> None:
    async with start_google() as agent:
        assert (await check(agent, "token"))[0] == "warning"
        started = await result_of(agent, "connect")
        assert started["flow"] == "loopback" and started["status"] == "waiting"
        query = parse_qs(urlsplit(started["authorization_url"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["access_type"] == ["offline"] and query["redirect_uri"] == [
            started["redirect_uri"]]
        assert set(query["scope"][0].split()) == {
            f"{SCOPE}calendar.readonly", f"{SCOPE}gmail.metadata",
            f"{SCOPE}drive.metadata.readonly"}
        assert (await panel_data(agent, "status"))["consent"] == "waiting"
        status, page, _ = await browse(started["authorization_url"])
        assert status == 200 and "now connected to Google" in page
        state = await connected(agent)
        assert state["health"] == "ok" and "calendar.readonly" in state["scope"]
        assert 3500 < state["access_expires_in"] <= 3600
        assert await check(agent, "token") == ("ok", "connected; access token valid for 60 min")
        # The listener is gone once the flow is over.
        async with aiohttp.ClientSession() as browser:
            try:
                await browser.get(started["redirect_uri"], timeout=aiohttp.ClientTimeout(2))
                raise AssertionError("the loopback listener still answers")
            except aiohttp.ClientConnectionError:
                pass
    [exchange] = google.calls("/token", grant_type="authorization_code")
    assert exchange  # the code went back with its PKCE verifier (checked by the stand-in)


@pytest.mark.e2e  # the `nebula` command in subprocesses
async def test_connect_from_the_cli(start_google, google, tmp_path) -> None:
    async with start_google() as agent:
        code, out, err = await nebula_async(agent, tmp_path, "action", "run",
                                            "google.connect", "--json")
        assert code == 0, err
        started = json.loads(out)["result"]
        await browse(started["authorization_url"])
        code, out, err = await nebula_async(agent, tmp_path, "action", "run", "google.status")
        assert code == 0, err
        assert json.loads(out)["connected"] is True


async def test_denied_consent_is_reported(start_google, google) -> None:
    google.consent = "deny"
    async with start_google() as agent:
        started = await result_of(agent, "connect")
        status, page, _ = await browse(started["authorization_url"])
        assert status == 400 and "access_denied" in page
        state = await result_of(agent, "status")
        assert state["connected"] is False and state["consent"] == "failed"
        assert "access_denied" in state["consent_error"]
        assert (await check(agent, "token")) == (
            "warning", "Google is not connected (last attempt: Google answered access_denied: "
                       "consent was not given): run the google.connect action again "
                       "(nebula action run google.connect)")
    assert google.calls("/token") == []


async def test_pasted_redirect_finishes_when_the_browser_is_elsewhere(start_google,
                                                                      google) -> None:
    async with start_google() as agent:
        started = await result_of(agent, "connect")
        async with aiohttp.ClientSession() as browser, browser.get(
                started["authorization_url"], allow_redirects=False) as resp:
            assert resp.status == 302
            landed = resp.headers["Location"]
        forged = landed.replace("state=", "state=x")
        body = await run_action(agent, "finish", {"redirect_url": forged})
        assert body["status"] == "error" and "does not belong" in body["error"]
        done = await result_of(agent, "finish", {"redirect_url": landed})
        assert done["status"] == "connected"
        assert (await connected(agent))["health"] == "ok"
        again = await run_action(agent, "finish", {"redirect_url": landed})
        assert again["status"] == "error" and "no loopback consent is waiting" in again["error"]


async def test_device_flow_polls_until_the_owner_approves(start_google, google) -> None:
    google.device_decide_after = 3
    async with start_google(flow="device", scopes=[f"{SCOPE}drive.file"]) as agent:
        started = await result_of(agent, "connect")
        assert started["verification_url"] == "https://www.google.com/device"
        assert started["user_code"] in started["instructions"]
        state = await connected(agent)
        assert state["health"] == "ok" and state["scope"] == f"{SCOPE}drive.file"
        # drive.file is enough for the quota, not for the calendar.
        assert (await panel_data(agent, "drive_quota"))["percent"] == 33.33
        status, body = await agent.get("/api/v1/panels/google.upcoming")
        assert status == 502 and "insufficientPermissions" in body["detail"]
    polls = [c["at"] for c in google.calls("/token", grant_type=(
        "urn:ietf:params:oauth:grant-type:device_code"))]
    assert len(polls) == 3  # pending, pending, then approved: no slow_down answers
    assert all(b - a >= google.device_interval * 0.9 for a, b in itertools.pairwise(polls))


async def test_device_flow_slows_down_when_told(start_google, google, monkeypatch) -> None:
    """RFC 8628: after slow_down, every later poll waits 5 s longer (here the step is cut
    to 1 s: the same code path, without five seconds of waiting in the quick loop)."""
    assert connect_module.SLOW_DOWN_STEP == 5.0
    monkeypatch.setattr(connect_module, "SLOW_DOWN_STEP", 1.0)
    google.device_interval, google.device_min_spacing = 0.1, 0.5
    google.device_decide_after = 3
    async with start_google(flow="device", scopes=[f"{SCOPE}drive.file"]) as agent:
        await result_of(agent, "connect")
        await connected(agent, timeout=10)
    polls = [c["at"] for c in google.calls("/token", grant_type=(
        "urn:ietf:params:oauth:grant-type:device_code"))]
    assert google.slow_downs == 1 and len(polls) == 3
    assert polls[2] - polls[1] >= 1.1  # the interval (0.1 s) and the step


async def test_device_flow_denied_or_refused_scopes_are_clear(start_google, google) -> None:
    google.device_decision = "deny"
    async with start_google(flow="device", scopes=[f"{SCOPE}drive.file"]) as agent:
        await result_of(agent, "connect")

        async def failed():
            state = await result_of(agent, "status")
            return state if state["consent"] == "failed" else None
        state = await eventually(failed, timeout=5)
        assert state["consent_error"] == "the owner refused access at Google (access_denied)"
    async with start_google(flow="device") as agent:
        body = await run_action(agent, "connect")
        assert body["status"] == "error"
        assert "invalid_scope: Invalid device flow scope: " in body["error"]
        assert 'use flow = \\"loopback\\"' in body["error"] or \
            'use flow = "loopback"' in body["error"]


async def test_disconnect_waits_for_approval_then_revokes(start_google, google) -> None:
    async with start_google() as agent:
        await connect(agent)
        status, body = await agent.post("/api/v1/actions/google.disconnect/run", {})
        assert status == 202 and body["status"] == "pending_approval", body
        assert (await result_of(agent, "status"))["connected"] is True
        status, body = await agent.post(f"/api/v1/approvals/{body['approval']['id']}/approve")
        assert status == 200, body
        assert body["result"] == {"disconnected": True, "revoked": True,
                                  "message": "access revoked at Google and tokens deleted"}
        assert (await result_of(agent, "status"))["connected"] is False
        assert (await check(agent, "token"))[0] == "warning"
    assert google.grants[0].revoked
