"""Changes to a real Caddy through the plugin: add/remove a site, reload and validate the
Caddyfile, roll back; each destructive one approved against the plan it showed, and
refused (not merged) when Caddy's config changed in between."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import urllib.request

import pytest
from caddy_upstream import APP, DOWN, UpstreamApp, fetch

from nebula_caddy.admin import etag
from tests.engines.caddy import Caddy, site
from tests.loopback import Server
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
NEW = "new.test"


def running_config(caddy: Caddy) -> dict:
    with urllib.request.urlopen(caddy.admin_url + "/config/", timeout=5) as resp:
        return json.loads(resp.read())


def hosts(caddy: Caddy) -> set[str]:
    servers = running_config(caddy)["apps"]["http"]["servers"]
    return {h for s in servers.values() for r in s.get("routes", [])
            for m in r.get("match", []) for h in m.get("host", [])}


async def get(caddy: Caddy, host: str) -> str:
    return await asyncio.to_thread(fetch, caddy.https_port, host, str(caddy.root))


async def approve_pending(agent, action: str, params: dict) -> dict:
    pending = await agent.run_action(action, params, expect=202)
    assert pending["status"] == "pending_approval"
    return pending["approval"]


def test_the_version_tag_is_the_one_caddy_sends(caddy: Caddy) -> None:
    """Caddy 2.6 sends the ETag of GET /config/ as a trailer; ours, computed from the
    body, is the same string."""
    raw = subprocess.run(["curl", "-s", "--raw", "-i", caddy.admin_url + "/config/"],
                         capture_output=True, check=True).stdout
    sent = re.search(rb"(?im)^etag: (.+?)\r?$", raw)
    assert sent, raw[:300]
    with urllib.request.urlopen(caddy.admin_url + "/config/", timeout=5) as resp:
        assert etag("/config/", resp.read()) == sent.group(1).decode()


async def test_add_site_after_approval_serves_it_and_rollback_takes_it_back(
        start_caddy, caddy: Caddy) -> None:
    other = UpstreamApp("other")
    async with Server(other.app) as server, start_caddy() as agent:
        approval = await approve_pending(agent, "caddy.add_site", {
            "host": NEW, "upstreams": [f"127.0.0.1:{server.port}"], "tls": "internal"})
        # The approver sees the resolved plan, bound to the config version read.
        plan = approval["plan"]
        assert plan["host"] == NEW and plan["server"] == "srv0"
        assert plan["etag"].startswith('"/config/ ')
        assert NEW not in hosts(caddy)

        done = await agent.approve(approval["id"])
        assert done["status"] == "ok", done
        assert NEW in hosts(caddy)
        caddy.wait_serving(NEW)
        assert await get(caddy, NEW) == f"HTTP/1.1 200 OK | other:{NEW}"
        rows = {r["host"]: r for r in await agent.panel("caddy.sites")}
        assert rows[NEW]["managed"] and rows[NEW]["upstream_health"] == "ok"

        # One step back: the config from before the change, approved like any change.
        back = await approve_pending(agent, "caddy.rollback", {})
        undo = back["plan"]
        assert undo["removed"] == [f"{NEW} (srv0)"]
        assert (await agent.approve(back["id"]))["status"] == "ok"
        assert hosts(caddy) == {APP, DOWN}
        assert (await get(caddy, NEW)).startswith("error:")
        assert await get(caddy, APP) == f"HTTP/1.1 200 OK | app:{APP}"
        # Only one step is kept.
        status, body = await agent.post("/api/v1/actions/caddy.rollback/run",
                                        {"params": {}})
        assert status == 422 and "nothing to roll back" in json.dumps(body)


async def test_two_edits_planned_on_one_version_one_wins_the_other_is_refused(
        start_caddy, caddy: Caddy, upstream) -> None:
    async with start_caddy() as agent:
        dial = [f"127.0.0.1:{upstream.port}"]
        first = await approve_pending(agent, "caddy.add_site",
                                      {"host": "one.test", "upstreams": dial})
        second = await approve_pending(agent, "caddy.add_site",
                                       {"host": "two.test", "upstreams": dial})
        results = await asyncio.gather(agent.approve(first["id"]),
                                       agent.approve(second["id"]))
        outcomes = sorted(r["status"] for r in results)
        assert outcomes == ["error", "ok"], results
        refused = next(r for r in results if r["status"] == "error")
        assert "changed since this change was planned" in refused["error"]
        added = hosts(caddy) - {APP, DOWN}
        assert len(added) == 1 and added <= {"one.test", "two.test"}


async def test_an_edit_made_outside_after_the_plan_voids_the_approval(
        start_caddy, caddy: Caddy) -> None:
    async with start_caddy() as agent:
        approval = await approve_pending(agent, "caddy.remove_site", {"host": DOWN})
        # Someone else changes Caddy through its admin API (a route's `terminal` flag).
        config_before = running_config(caddy)
        routes = config_before["apps"]["http"]["servers"]["srv0"]["routes"]
        routes[0]["terminal"] = not routes[0].get("terminal", False)
        request = urllib.request.Request(
            caddy.admin_url + "/config/apps/http/servers/srv0/routes", method="PATCH",
            data=json.dumps(routes).encode(), headers={"Content-Type": "application/json"})
        assert await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=5)
                                       .status) == 200
        done = await agent.approve(approval["id"])
        assert done["status"] == "error"
        assert "changed since this change was planned" in done["error"]
        assert DOWN in hosts(caddy)


async def test_remove_site_and_refusals_at_request_time(start_caddy, caddy: Caddy) -> None:
    async with start_caddy() as agent:
        status, body = await agent.post("/api/v1/actions/caddy.remove_site/run",
                                        {"params": {"host": "nope.test"}})
        assert status == 422 and "Caddy serves no site nope.test" in json.dumps(body)
        status, body = await agent.post("/api/v1/actions/caddy.add_site/run", {"params": {
            "host": APP, "upstreams": ["127.0.0.1:1"]}})
        assert status == 422 and f"Caddy already serves {APP}" in json.dumps(body)
        status, _ = await agent.post("/api/v1/actions/caddy.add_site/run", {"params": {
            "host": "bad host", "upstreams": ["127.0.0.1:1"]}})
        assert status == 422

        approval = await approve_pending(agent, "caddy.remove_site", {"host": DOWN})
        assert (await agent.approve(approval["id"]))["status"] == "ok"
        assert hosts(caddy) == {APP}
        assert await get(caddy, APP) == f"HTTP/1.1 200 OK | app:{APP}"


async def test_validate_adapts_without_applying(start_caddy, caddy: Caddy) -> None:
    async with start_caddy() as agent:
        before = running_config(caddy)
        bad = await agent.run_action("caddy.validate", {
            "caddyfile": "https://x.test {\n\tbogus_directive\n}\n"})
        assert bad["result"]["valid"] is False
        assert "unrecognized directive: bogus_directive" in bad["result"]["error"]
        text = caddy.caddyfile.read_text() + site(NEW, caddy.https_port, "127.0.0.1:9")
        good = await agent.run_action("caddy.validate", {"caddyfile": text})
        assert good["result"]["valid"] is True, good
        assert good["result"]["added"] == [f"{NEW} (srv0)"]
        assert running_config(caddy) == before


async def test_reload_applies_the_caddyfile_plan_and_refuses_a_file_changed_since(
        start_caddy, caddy: Caddy, upstream) -> None:
    async with start_caddy() as agent:
        original = caddy.caddyfile.read_text()
        caddy.caddyfile.write_text(original + site(NEW, caddy.https_port,
                                                   f"127.0.0.1:{upstream.port}"))
        approval = await approve_pending(agent, "caddy.reload", {})
        plan = approval["plan"]
        assert plan["added"] == [f"{NEW} (srv0)"] and plan["removed"] == []
        assert (await agent.approve(approval["id"]))["status"] == "ok"
        caddy.wait_serving(NEW)
        assert await get(caddy, NEW) == f"HTTP/1.1 200 OK | app:{NEW}"

        # A file edited after the approver saw the plan is not what gets applied.
        approval = await approve_pending(agent, "caddy.reload", {})
        caddy.caddyfile.write_text(original)
        done = await agent.approve(approval["id"])
        assert done["status"] == "error" and "changed since this reload was planned" \
            in done["error"]
        assert NEW in hosts(caddy)


async def test_a_config_caddy_cannot_load_is_refused_and_the_old_one_keeps_running(
        start_caddy, caddy: Caddy) -> None:
    async with start_caddy() as agent:
        with socket_taken() as busy:
            caddy.caddyfile.write_text(caddy.caddyfile.read_text()
                                       + site("busy.test", busy, "127.0.0.1:9"))
            approval = await approve_pending(agent, "caddy.reload", {})
            done = await agent.approve(approval["id"])
        assert done["status"] == "error"
        assert "Caddy refused the new config and kept the old one" in done["error"]
        assert "address already in use" in done["error"]
        assert hosts(caddy) == {APP, DOWN}
        # Caddy put the old config back by loading it again: its certificates come back
        # from storage a moment later (until then a handshake gets an internal-error alert,
        # and under load one that succeeded can be followed by another alert).
        serving = f"HTTP/1.1 200 OK | app:{APP}"

        async def serves() -> bool:
            return await get(caddy, APP) == serving

        await eventually(serves, timeout=30, interval=0.2)
        # Nothing changed, so there is nothing to roll back.
        status, _ = await agent.post("/api/v1/actions/caddy.rollback/run", {"params": {}})
        assert status == 422


class socket_taken:
    """A loopback port held open by another listener."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
