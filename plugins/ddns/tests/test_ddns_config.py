"""The ddns plugin's config: what cannot work is refused at start with the reason, and the
runtime the plugin returns is closed when it stops."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from aiohttp import web
from ddns_standins import cloudflare_entry, duckdns_entry, rfc2136_entry

from nebula.helpers.ddns.updater import Updater
from tests.loopback import serving
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def error_of(start_ddns, **config) -> str:
    async with start_ddns(**config) as agent:
        body = await agent.plugin("ddns")
    assert body["state"] == "failed", body
    return body["error"]


async def test_no_provider_at_all_is_refused(start_ddns) -> None:
    assert "no provider configured: add [[plugins.ddns.rfc2136]]" in await error_of(start_ddns)


async def test_a_host_twice_and_a_host_outside_its_zone_are_refused(
        start_ddns, bind, cloudflare, tmp_path) -> None:
    error = await error_of(start_ddns, rfc2136=[rfc2136_entry(
        bind, tmp_path, hosts=["gw.home.test", "gw.other.test"])],
        cloudflare=[cloudflare_entry(cloudflare, hosts=["gw.home.test"])])
    assert "plugins.ddns.rfc2136.0.hosts.1: gw.other.test is not in zone home.test" in error
    assert "gw.home.test is configured more than once" in error


async def test_a_server_that_is_no_address_is_refused(start_ddns, bind, tmp_path) -> None:
    error = await error_of(start_ddns, rfc2136=[rfc2136_entry(bind, tmp_path,
                                                              server="ns1.example.net")])
    assert "plugins.ddns.rfc2136.0.server: 'ns1.example.net' is not an IP address" in error


async def test_too_few_sources_for_ipv6_are_refused(start_ddns, duckdns, echo,
                                                    tmp_path) -> None:
    error = await error_of(start_ddns, ipv6=True, ipv6_services=echo.urls("ipify"),
                           duckdns=[duckdns_entry(duckdns, tmp_path)])
    assert "min_agreeing is 2 but only 1 ipv6 echo service(s) are configured" in error


async def test_stopping_the_plugin_closes_its_runtime(start_ddns, duckdns, echo,
                                                      tmp_path) -> None:
    hanging = asyncio.Event()

    async def hold(request: web.Request) -> web.Response:  # an echo service that hangs
        await hanging.wait()
        return web.Response(text="203.0.113.7")

    app = web.Application()
    app.router.add_get("/", hold)
    async with serving(app) as silent, start_ddns(
            timeout=60, ipv4_services=[*echo.urls(), f"{silent}/"],
            duckdns=[duckdns_entry(duckdns, tmp_path)]) as agent:
        record = agent.agent.manager.records["ddns"]
        runtime = record.ctx.runtime
        assert isinstance(runtime, Updater)
        reading = asyncio.ensure_future(runtime.observe())
        await asyncio.sleep(0)
        config = agent.agent.config
        await agent.agent.reload(replace(config, plugins={
            **config.plugins, "ddns": {**config.plugins["ddns"], "enabled": False}}))
        assert (await agent.plugin("ddns"))["state"] == "disabled"
        # The observation waiting on the silent service ended with the runtime.
        await eventually(reading.done, timeout=5)
        assert reading.cancelled()
        hanging.set()


async def test_a_tsig_secret_that_is_not_base64_is_refused_without_showing_it(
        start_ddns, bind, tmp_path) -> None:
    (tmp_path / "tsig").write_text("not base64 at all!")
    error = await error_of(start_ddns, rfc2136=[rfc2136_entry(bind, tmp_path)])
    assert "rfc2136.0.key_secret: the TSIG secret is not base64" in error
    assert "not base64 at all!" not in error
