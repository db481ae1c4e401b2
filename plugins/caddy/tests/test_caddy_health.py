"""The caddy plugin's checks, panels and Jarvis tools against a real Caddy: its admin API,
its upstream counters, and each site's certificate fetched on the wire."""

from __future__ import annotations

import asyncio

import pytest
from caddy_upstream import APP, DOWN, fetch

from tests.engines.caddy import Caddy

pytestmark = pytest.mark.e2e


async def test_health_reads_caddy_and_checks_upstreams_and_certificates_on_the_wire(
        start_caddy, caddy: Caddy, dead_port) -> None:
    async with start_caddy() as agent:
        admin = await agent.run_check("caddy.admin")
        assert (admin["last_status"], admin["summary"]) == (
            "ok", "Caddy answers; 2 site(s) on 1 server(s)")

        upstreams = await agent.run_check("caddy.upstreams")
        assert upstreams["last_status"] == "critical"
        assert f"127.0.0.1:{dead_port} ({DOWN}) unreachable: connection refused" \
            == upstreams["summary"]

        # Trusted through Caddy's internal root (from its /pki/ca/local), 12 h certificates.
        certs = await agent.run_check("caddy.certificates")
        assert certs["last_status"] == "ok", certs
        assert certs["summary"] == "2 certificate(s) valid"

        rows = {r["host"]: r for r in await agent.panel("caddy.sites")}
        assert set(rows) == {APP, DOWN}
        assert rows[APP]["upstream_health"] == "ok"
        assert rows[DOWN]["upstream_health"] == \
            f"127.0.0.1:{dead_port}: connection refused"
        assert rows[APP]["tls"] == "trusted, Caddy Local Authority - ECC Intermediate"
        assert 0 < rows[APP]["hours_left"] <= 12
        assert rows[APP]["port"] == caddy.https_port and not rows[APP]["managed"]

        tls = {r["host"]: r for r in await agent.panel("caddy.tls")}
        assert tls[APP]["address"] == f"127.0.0.1:{caddy.https_port}"
        assert tls[APP]["trusted"] and tls[APP]["lifetime_left"] > 0.5


async def test_a_certificate_nobody_trusts_is_critical(start_caddy) -> None:
    async with start_caddy(trust_internal_ca=False) as agent:
        certs = await agent.run_check("caddy.certificates")
        assert certs["last_status"] == "critical"
        assert f"{APP}: not trusted: unable to get local issuer certificate" \
            in certs["summary"]
        tls = {r["host"]: r for r in await agent.panel("caddy.tls")}
        # The dates still come from the certificate read without verification.
        assert tls[APP]["issuer"] == "Caddy Local Authority - ECC Intermediate"
        assert 0 < tls[APP]["hours_left"] <= 12


async def test_caddy_gone_is_critical_with_the_reason(start_caddy, caddy: Caddy) -> None:
    async with start_caddy() as agent:
        assert (await agent.run_check("caddy.admin"))["last_status"] == "ok"
        assert caddy.proc is not None
        caddy.proc.terminate()
        await asyncio.to_thread(caddy.proc.wait, 15)
        admin = await agent.run_check("caddy.admin")
        assert admin["last_status"] == "critical"
        assert admin["summary"].startswith(
            f"connection refused by 127.0.0.1:{caddy.admin_port}: Caddy's admin API is not "
            "listening there")


async def test_failures_counted_by_caddy_warn(start_caddy, caddy: Caddy, dead_port) -> None:
    """Caddy's own view: with passive health checks (fail_duration) a failed proxied
    request counts in /reverse_proxy/upstreams, and the check reports it."""
    async with start_caddy(probe_upstreams=False) as agent:
        assert (await agent.run_check("caddy.upstreams"))["last_status"] == "ok"
        answer = await asyncio.to_thread(fetch, caddy.https_port, DOWN, str(caddy.root))
        assert answer.startswith("HTTP/1.1 502"), answer
        check = await agent.run_check("caddy.upstreams")
        assert (check["last_status"], check["summary"]) == (
            "warning", f"127.0.0.1:{dead_port}: Caddy counts 1 recent failure(s)")


async def test_jarvis_tools_list_sites_and_upstream_health(start_caddy, dead_port) -> None:
    async with start_caddy() as agent:
        listed = await agent.call_tool("caddy.list_sites")
        assert listed["status"] == "ok"
        assert {r["host"] for r in listed["result"]} == {APP, DOWN}
        health = await agent.call_tool("caddy.upstream_health")
        assert health["result"]["status"] == "critical"
        assert {u["address"]: u["reachable"] for u in health["result"]["upstreams"]}[
            f"127.0.0.1:{dead_port}"] is False
