"""Fixtures for the zoneedit tests: dnsmasq serving the records, the ZoneEdit stand-in that
rewrites them on a successful update, echo services, and the plugin in a real agent."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from zoneedit_standins import HOSTS, NEW_IP, OLD_IP, ZONE, ZoneEdit

from nebula_zoneedit import plugin
from tests.echo_services import EchoServices, echo_services
from tests.engines.dnsmasq import DnsServer, running
from tests.loopback import serving


@pytest.fixture(scope="session")
def zone_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsServer]:
    with running(tmp_path_factory.mktemp("zoneedit-dns"),
                 hosts={host: [OLD_IP] for host in HOSTS}) as server:
        yield server


@pytest.fixture
def dns(zone_dns: DnsServer) -> DnsServer:
    """Every test starts with all records on the old address."""
    zone_dns.set_hosts({host: [OLD_IP] for host in HOSTS})
    return zone_dns


@pytest.fixture
async def echo() -> AsyncIterator[EchoServices]:
    async with echo_services(NEW_IP) as services:
        yield services


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Random credentials; the user comes from the environment, the token from a file."""
    creds = {"username": f"owner-{secrets.token_hex(6)}",
             "token": f"ze-{secrets.token_hex(12)}"}
    monkeypatch.setenv("ZONEEDIT_TEST_USER", creds["username"])
    (tmp_path / "zoneedit_token").write_text(creds["token"] + "\n")
    return creds


@pytest.fixture
async def zoneedit(dns: DnsServer, credentials: dict[str, str]) -> AsyncIterator[ZoneEdit]:
    served = {host: [OLD_IP] for host in HOSTS}
    # Updates arrive concurrently; the zone is edited one at a time, or a slower write of
    # an older snapshot of the hosts file would undo a newer one.
    edits = asyncio.Lock()

    async def publish(host: str, ip: str) -> None:
        async with edits:
            # The new address replaces the one of its family (A or AAAA), as a zone edit
            # would.
            served[host] = [a for a in served.get(host, []) if (":" in a) != (":" in ip)] + [ip]
            await asyncio.to_thread(dns.set_hosts, {host: [ip], **served})

    standin = ZoneEdit(credentials["username"], credentials["token"], dict(HOSTS), publish)
    async with serving(standin.app()) as base:
        standin.url = f"{base}/auth/dynamic.html"
        yield standin


@pytest.fixture
def zoneedit_config(dns: DnsServer, echo: EchoServices, zoneedit: ZoneEdit,
                    tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        return {
            "username": "${ZONEEDIT_TEST_USER}",
            "token_file": str(tmp_path / "zoneedit_token"),
            "hosts": ["home.zone.test", "www.zone.test",
                      {"host": "deep.sub.zone.test", "zone": ZONE}],
            "ipv4_services": echo.urls(),
            "update_url": zoneedit.url,
            "resolvers": [dns.address], "dns_port": dns.port,
            "interval": 3600, "timeout": 2, "verify_timeout": 3,
            **overrides,
        }
    return make


@pytest.fixture
def start_zoneedit(nebula_agent: Callable[..., Any],
                   zoneedit_config: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`async with start_zoneedit(schedule=False, interval=...) as agent:`."""
    def start(schedule: bool = False, **overrides: Any) -> Any:
        return nebula_agent({"zoneedit": plugin}, config={"zoneedit": zoneedit_config(
            **overrides)}, schedule=schedule)
    return start

