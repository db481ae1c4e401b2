"""`"public_ip"` expectations: the domains plugin follows the public IP whichever DDNS plugin
runs publishes (the `zoneedit.public_ip` or `ddns.public_ip` event), both plugins in one real
agent against dnsmasq and echo services on loopback. Lookups between the plugins write no
audit rows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from domains_api import name, run_checks
from domains_zone import PRIMARY, ZONE

from nebula_ddns import plugin as ddns_plugin
from nebula_zoneedit import plugin as zoneedit_plugin
from tests.echo_services import EchoServices
from tests.loopback import serving
from tests.waiting import eventually

HOST = {"name": name("valid"), "expect": {"A": ["public_ip"]}, "https": False,
        "http_redirect": False}


NOWHERE = "http://127.0.0.1:9/unused"
# Each DDNS plugin with a provider that is never reached: only its public IP matters here.
SOURCES = {
    "zoneedit": (zoneedit_plugin, {"username": "domains-test-user",
                                   "token": "domains-test-token", "hosts": [name("valid")],
                                   "update_url": NOWHERE}),
    "ddns": (ddns_plugin, {"duckdns": [{"token": "domains-test-token", "hosts": ["valid"],
                                        "domain": ZONE, "update_url": NOWHERE}]}),
}
AUTO_MISSING = ("no action ddns.public_ip or zoneedit.public_ip (is the ddns or zoneedit "
                "plugin enabled?)")


@pytest.fixture(params=sorted(SOURCES))
def source(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def both_plugins(start_domains: Any, zone: Any, echo: EchoServices,
                       source: str) -> AsyncIterator[Any]:
    """Domains and a DDNS plugin in one agent, each keeping what it saw for half a second."""
    plugin, section = SOURCES[source]
    async with serving(echo.app()) as base:
        echo.base = base
        config = {**section, "ipv4_services": echo.urls(), "resolvers": [PRIMARY],
                  "dns_port": zone.port, "interval": 1}
        async with start_domains([HOST], plugins={source: plugin},
                                 config={source: config}, interval=1) as agent:
            yield agent


async def check_now(agent: Any) -> tuple[str, str]:
    """The host checked now (not a report kept from before), as the tool does it."""
    found = await agent.agent.tools["domains.check_domain"].run({"host": name("valid")})
    return found["status"], found["summary"]


async def followed(agent: Any, source: str, status: str, text: str) -> tuple[str, str]:
    """Waits until the domains check says `status` with `text`, while the DDNS plugin
    observes (its check runs, taking a new observation once the last is half a second
    old)."""
    async def seen() -> tuple[str, str] | None:
        await agent.run_check(f"{source}.records")
        found = await check_now(agent)
        return found if found[0] == status and text in found[1] else None
    return await eventually(seen, timeout=10, interval=0.1)


async def audit_rows(agent: Any, source: str) -> list[dict[str, Any]]:
    status, body = await agent.get(f"/api/v1/audit?action={source}.public_ip")
    assert status == 200, body
    return body["audit"]


async def test_expected_public_ip_comes_from_the_ddns_plugin_that_runs(
        start_domains, zone, source) -> None:
    echo = EchoServices()
    echo.set("127.0.0.1")
    async with both_plugins(start_domains, zone, echo, source) as agent:
        # Nothing published yet (the plugin has not looked): its action is asked, once; a
        # read-only lookup between plugins leaves no audit row.
        assert (await check_now(agent))[0] == "ok"
        echo.set("203.0.113.7")  # the public IP moved; DNS still has the old one
        await followed(agent, source, "critical",
                       f"wrong answer, expected 203.0.113.7: {PRIMARY} serves 127.0.0.1")
        echo.set("127.0.0.1", aws="203.0.113.7")
        await followed(agent, source, "warning",
                       "cannot compare with our public IP: ipv4: echo services disagree")
        assert await audit_rows(agent, source) == []

        # Stopped, the plugin no longer speaks for the public IP.
        config = agent.agent.config
        await agent.agent.reload(replace(config, plugins={
            **config.plugins, source: {**config.plugins[source], "enabled": False}}))
        status, summary = await check_now(agent)
        assert status == "warning"
        assert AUTO_MISSING in summary
    async with start_domains([HOST]) as agent:
        status, summary = (await run_checks(agent, "valid"))["valid"]
    assert status == "warning"
    assert AUTO_MISSING in summary


async def test_public_ip_lookups_write_no_audit_rows(start_domains, zone, source) -> None:
    echo = EchoServices()
    echo.set("127.0.0.1")
    async with both_plugins(start_domains, zone, echo, source) as agent:
        await agent.run_check(f"{source}.records")  # the plugin looks, and publishes
        domains = agent.agent.manager.runtime("domains")
        await eventually(lambda: domains.public_ip)
        for _ in range(30):  # a day's checks of a few hosts, in short
            assert await check_now(agent) == ("ok", f"{name('valid')}: A 127.0.0.1")
        echo.set("203.0.113.7")
        await followed(agent, source, "critical", "wrong answer, expected 203.0.113.7")

        assert await audit_rows(agent, source) == []
        # Published when it changed, not per lookup: at the first observation and the move.
        _, body = await agent.get(f"/api/v1/events?topic={source}.public_ip")
        assert [e["data"]["ipv4"]["ip"] for e in body["events"]] == ["127.0.0.1",
                                                                     "203.0.113.7"]
