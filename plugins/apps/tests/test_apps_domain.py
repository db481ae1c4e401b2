"""An app with a domain: the Caddy site is part of the one approved deploy (the caddy
plugin's add_site runs under the deploy's approval, listed in its plan as covered), the app
answers through a real Caddy, and a failure at or after the site leaves nothing behind, in
Caddy either."""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
import uuid

import pytest
from apps_leftovers import nothing_left

from tests.agent_process import free_port
from tests.engines.caddy import Caddy

pytestmark = pytest.mark.e2e


def through_caddy(caddy: Caddy, host: str) -> str:
    import socket

    tls = ssl.create_default_context(cafile=str(caddy.root))
    with socket.create_connection(("127.0.0.1", caddy.https_port), timeout=5) as raw, \
            tls.wrap_socket(raw, server_hostname=host) as conn:
        conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return conn.recv(200).decode().splitlines()[0]



async def test_one_approval_deploys_the_app_behind_caddy_and_remove_takes_the_site_away(
        start_apps_with_caddy, caddy: Caddy, client) -> None:
    app, port, domain = f"web-{uuid.uuid4().hex[:6]}", free_port(), "web.test"
    async with start_apps_with_caddy() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": port, "domain": domain,
            "tls": "internal"}, expect=202)
        plan = pending["approval"]["plan"]
        assert plan["covers"] == [
            {"action": "caddy.add_site", "params": {
                "host": domain, "upstreams": [f"127.0.0.1:{port}"], "tls": "internal"}},
            {"action": "caddy.remove_site", "params": {"host": domain}}]
        assert plan["steps"][-3:] == [
            "DNS record: not made here (no DDNS plugin: zoneedit or ddns)",
            f"Caddy site {domain} -> 127.0.0.1:{port} (internal TLS), by caddy.add_site "
            "under this approval",
            f"wait until https://{domain}/ answers through Caddy (at most 20 s)"]
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        # No second approval was filed for the site: it ran under the deploy's.
        _, approvals = await agent.get("/api/v1/approvals?status=pending")
        assert approvals["approvals"] == []
        assert domain in caddy.hosts()
        caddy.wait_serving(domain)
        assert await asyncio.to_thread(through_caddy, caddy, domain) == "HTTP/1.1 404 Not Found"
        rows = await agent.panel("apps.apps")
        assert [(r["domain"], r["through_caddy"]) for r in rows] == [(domain, "HTTP 404")]
        assert (await agent.run_check("apps.health"))["last_status"] == "ok"
        # Its certificate, on the wire at Caddy, chains to Caddy's internal CA.
        cert = await agent.run_check("apps.certificates")
        assert (cert["last_status"], cert["summary"]) == ("ok", "1 domain certificate(s) "
                                                               "valid"), cert
        row = (await agent.panel("apps.apps"))[0]
        assert row["certificate"].startswith("valid, ") and "Caddy Local Authority" in \
            row["certificate"], row
        # The app stops: Caddy answers 502 for it, and the app's check says both.
        await asyncio.to_thread(lambda: client.containers.get(app).stop(timeout=0))
        check = await agent.run_check("apps.health")
        assert check["last_status"] == "critical", check
        assert check["summary"].startswith(f"{app}: container exited, no answer: ")
        assert check["summary"].endswith(", through Caddy HTTP 502")

        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert removal["approval"]["plan"]["steps"][0] == \
            f"remove Caddy site {domain} (caddy.remove_site under this approval)"
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert caddy.hosts() == {"taken.test"}
        assert nothing_left(client, app)


@pytest.mark.parametrize(("domain", "tls", "failed", "why"), [
    # Caddy refuses: the name is served already.
    ("taken.test", "internal", "Caddy site taken.test", "Caddy already serves taken.test"),
    # The site is added but never answers (no public CA reachable for "auto" here): the
    # site is taken away again with the rest.
    ("auto.test", "auto", "https://auto.test through Caddy", "not answering through Caddy"),
])
async def test_a_failure_at_or_after_the_caddy_step_leaves_nothing(
        start_apps_with_caddy, caddy: Caddy, client, templates_dir, domain, tls, failed,
        why) -> None:
    (templates_dir / "web.toml").write_text(
        (templates_dir / "web.toml").read_text().replace("timeout = 20", "timeout = 3"))
    app, port = f"dom-{uuid.uuid4().hex[:6]}", free_port()
    async with start_apps_with_caddy() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": port, "domain": domain, "tls": tls},
            expect=202)
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "error", done
        assert f"{failed} failed" in done["error"] and why in done["error"], done["error"]
        assert caddy.hosts() == {"taken.test"}
        assert nothing_left(client, app)
        runtime = agent.agent.manager.records["apps"].ctx.runtime
        assert await runtime.ctx.secrets.get(f"{app}.TOKEN") is None


async def test_removal_goes_on_when_the_site_is_gone_already(start_apps_with_caddy,
                                                            caddy: Caddy, client) -> None:
    app, domain = f"gone-{uuid.uuid4().hex[:6]}", "gone.test"
    async with start_apps_with_caddy() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": free_port(), "domain": domain,
            "tls": "internal"}, expect=202)
        assert (await agent.approve(pending["approval"]["id"]))["status"] == "ok"
        # Someone removes the site by hand first.
        route = f"{caddy.admin_url}/id/nebula-site-{domain}"
        await asyncio.to_thread(lambda: urllib.request.urlopen(
            urllib.request.Request(route, method="DELETE"), timeout=5).close())
        assert domain not in caddy.hosts()
        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        done = await agent.approve(removal["approval"]["id"])
        assert done["status"] == "ok", done
        assert nothing_left(client, app) and await agent.panel("apps.apps") == []


async def test_the_certificate_check_verifies_on_the_wire(start_apps_with_caddy,
                                                          caddy: Caddy) -> None:
    """Without Caddy's internal CA among the trusted roots, the same certificate fails."""
    app, domain = f"crt-{uuid.uuid4().hex[:6]}", "crt.test"
    async with start_apps_with_caddy(trust_internal_ca=False) as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": free_port(), "domain": domain,
            "tls": "internal"}, expect=202)
        assert (await agent.approve(pending["approval"]["id"]))["status"] == "ok"
        caddy.wait_serving(domain)
        check = await agent.run_check("apps.certificates")
        assert check["last_status"] == "critical", check
        assert check["summary"].startswith(f"{app}: not trusted: "), check
        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert (await agent.run_check("apps.certificates"))["summary"] == \
            "0 domain certificate(s) valid"
