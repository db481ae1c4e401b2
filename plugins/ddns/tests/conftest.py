"""Fixtures for the ddns tests: a real BIND serving every zone (and taking RFC 2136
updates), the Cloudflare and DuckDNS stand-ins that publish into it, echo services, and the
plugin in a real agent."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ddns_standins import KEY, NEW_IP, OLD_IP, ZONES, Cloudflare, DuckDns

from nebula_ddns import plugin
from tests.echo_services import EchoServices, echo_services
from tests.engines.bind import Bind, new_secret, running
from tests.loopback import serving


@pytest.fixture(scope="session")
def tsig_secret() -> str:
    return new_secret()


@pytest.fixture(scope="session")
def bind_server(tmp_path_factory: pytest.TempPathFactory, tsig_secret: str) -> Iterator[Bind]:
    with running(tmp_path_factory.mktemp("ddns-bind"), ZONES, keys={KEY: tsig_secret},
                 updaters={"home.test": [KEY], "cf.test": [], "duckdns.org": []}) as server:
        yield server


@pytest.fixture
async def bind(bind_server: Bind) -> Bind:
    """Every test starts with the records of ZONES."""
    for zone, names in ZONES.items():
        if zone == "locked.test":
            continue
        for name, ips in names.items():
            for rdtype, want in (("A", [i for i in ips if ":" not in i]),
                                 ("AAAA", [i for i in ips if ":" in i])):
                await bind_server.publish(zone, f"{name}.{zone}", rdtype, want)
    return bind_server


@pytest.fixture
async def echo() -> AsyncIterator[EchoServices]:
    async with echo_services(NEW_IP) as services:
        yield services


@pytest.fixture
def creds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          tsig_secret: str) -> dict[str, str]:
    """The TSIG secret and the DuckDNS token from files, the Cloudflare token from the
    environment."""
    found = {"tsig": tsig_secret, "cloudflare": f"cf-{secrets.token_urlsafe(30)}",
             "duckdns": secrets.token_hex(18)}
    (tmp_path / "tsig").write_text(found["tsig"] + "\n")
    (tmp_path / "duckdns").write_text(found["duckdns"] + "\n")
    monkeypatch.setenv("DDNS_TEST_CF_TOKEN", found["cloudflare"])
    return found


@pytest.fixture
async def cloudflare(bind: Bind, creds: dict[str, str]) -> AsyncIterator[Cloudflare]:
    standin = Cloudflare(bind, creds["cloudflare"])
    standin.add_zone("cf.test")
    standin.add_zone("other.test")
    standin.add_record("cf.test", "www.cf.test", "A", OLD_IP)
    standin.add_record("cf.test", "app.cf.test", "A", OLD_IP, proxied=True)
    async with serving(standin.app()) as base:
        standin.url = f"{base}/client/v4"
        yield standin


@pytest.fixture
async def duckdns(bind: Bind, creds: dict[str, str]) -> AsyncIterator[DuckDns]:
    standin = DuckDns(bind, creds["duckdns"], {"myhome"})
    async with serving(standin.app()) as base:
        standin.url = f"{base}/update"
        yield standin


@pytest.fixture
def ddns_config(bind: Bind, echo: EchoServices,
                creds: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        return {"ipv4_services": echo.urls(), "ipv6_services": echo.urls(v6=True),
                "resolvers": [f"127.0.0.1:{bind.port}"], "interval": 3600, "timeout": 2,
                "verify_timeout": 3, **overrides}
    return make


@pytest.fixture
def start_ddns(nebula_agent: Callable[..., Any],
               ddns_config: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`async with start_ddns(rfc2136=[...], schedule=False) as agent:`."""
    def start(schedule: bool = False, **overrides: Any) -> Any:
        return nebula_agent({"ddns": plugin}, config={"ddns": ddns_config(**overrides)},
                            schedule=schedule)
    return start
