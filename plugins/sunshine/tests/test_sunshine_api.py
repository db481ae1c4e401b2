"""The web API check against the HTTPS stand-in: pinned on first use without sending the
password, down, bad credentials and a changed certificate told apart, and the new
certificate trusted only through an approved `trust_certificate` bound to its fingerprint."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sunshine_server import Site, SunshineStandIn
from sunshine_support import fresh_check, runtime_of

from nebula_sunshine.client import PIN_KEY
from tests.waiting import eventually


async def test_the_first_contact_pins_the_certificate(
        start_sunshine, sunshine: SunshineStandIn, sunshine_site: Site,
        sunshine_password: str) -> None:
    async with start_sunshine() as agent:
        check = await fresh_check(agent, "sunshine.api")
        assert check["last_status"] == "ok", check["summary"]
        assert "2 apps, 0 paired clients" in check["summary"]
        # The pinning contact was a bare TLS handshake: every request came after it.
        assert sunshine.requests and all(r["auth"] for r in sunshine.requests)
        kv = agent.agent.manager.records["sunshine"].ctx.kv
        assert await kv.get(PIN_KEY) == sunshine_site.fingerprint
        apps = await agent.panel("sunshine.apps")
        assert [a["name"] for a in apps] == ["Desktop", "Steam Big Picture"]
        status, body = await agent.get("/api/v1/plugins/sunshine")
        assert status == 200 and sunshine_password not in str(body)


async def test_bad_credentials(start_sunshine, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("nope\n")
    async with start_sunshine(password_file=str(tmp_path / "wrong")) as agent:
        check = await fresh_check(agent, "sunshine.api")
        assert check["last_status"] == "critical"
        assert check["summary"].startswith("bad credentials:"), check["summary"]
        assert check["metrics"]["authenticated"] == 0.0


async def test_sunshine_down(start_sunshine, sunshine_site: Site) -> None:
    async with start_sunshine() as agent:
        assert (await fresh_check(agent, "sunshine.api"))["last_status"] == "ok"
        await sunshine_site.stop()
        check = await fresh_check(agent, "sunshine.api")
        assert check["last_status"] == "critical"
        assert check["summary"].startswith("Sunshine is down:"), check["summary"]
        assert check["metrics"] == {"reachable": 0.0}


async def test_a_changed_certificate_is_refused_until_trusted(
        start_sunshine, sunshine: SunshineStandIn, sunshine_site: Site) -> None:
    async with start_sunshine() as agent:
        assert (await fresh_check(agent, "sunshine.api"))["last_status"] == "ok"
        old = sunshine_site.fingerprint
        await sunshine_site.stop()
        await sunshine_site.start(new_cert=True)
        sent = len(sunshine.requests)
        check = await fresh_check(agent, "sunshine.api")
        assert check["last_status"] == "critical"
        assert check["summary"].startswith("certificate mismatch:"), check["summary"]
        assert old in check["summary"] and sunshine_site.fingerprint in check["summary"]
        # The handshake failed before any request, so the password never went out.
        assert len(sunshine.requests) == sent

        pending = await agent.run_action("sunshine.trust_certificate", expect=202)
        plan = pending["approval"]["plan"]
        assert plan == {"fingerprint": sunshine_site.fingerprint, "replaces": old}
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert (await fresh_check(agent, "sunshine.api"))["last_status"] == "ok"


async def test_an_approval_covers_only_the_fingerprint_it_showed(
        start_sunshine, sunshine_site: Site) -> None:
    async with start_sunshine() as agent:
        await fresh_check(agent, "sunshine.api")
        await sunshine_site.stop()
        await sunshine_site.start(new_cert=True)
        pending = await agent.run_action("sunshine.trust_certificate", expect=202)
        await sunshine_site.stop()
        await sunshine_site.start(new_cert=True)   # another one before the approval
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "error" and "ask again" in str(done["error"])
        check = await fresh_check(agent, "sunshine.api")
        assert check["summary"].startswith("certificate mismatch:")


async def test_a_configured_fingerprint_is_used_instead_of_the_first_seen(
        start_sunshine, sunshine: SunshineStandIn) -> None:
    wrong = ":".join(["AB"] * 32)
    async with start_sunshine(fingerprint=wrong) as agent:
        check = await fresh_check(agent, "sunshine.api")
        assert check["summary"].startswith("certificate mismatch:")
        assert sunshine.requests == []
        assert runtime_of(agent).client.fixed


async def test_stopping_the_plugin_cancels_a_poll_in_flight(
        start_sunshine, sunshine: SunshineStandIn) -> None:
    sunshine.hold_logs = asyncio.Event()   # never set: the poll waits on /api/logs
    async with start_sunshine(timeout=60) as agent:
        runtime = runtime_of(agent)
        reading = asyncio.ensure_future(runtime.snapshot())
        await eventually(lambda: any(r["path"] == "/api/logs" for r in sunshine.requests))
        started = time.perf_counter()
    # The agent stopped the plugin and closed its runtime: the poll did not wait 60 s.
    assert time.perf_counter() - started < 5
    assert reading.done()
    sunshine.hold_logs.set()   # lets the stand-in's handler end before its site stops
