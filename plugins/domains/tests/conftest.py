"""Fixtures for the domains tests: dnsmasq for the `site.test` zone (plus a black hole and
a lagging second server on the same port), and the TLS/HTTP sites process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from domains_zone import LAGGARD, LAGGING, PRIMARY, RECORDS, SILENT, ZONE

from nebula_domains import plugin
from tests.engines.dnsmasq import BlackHole, DnsServer, free_udp_port, running


class Zone:
    def __init__(self, primary: DnsServer, lagging: DnsServer) -> None:
        self.primary, self.lagging = primary, lagging
        self.port = primary.port


@pytest.fixture(scope="session")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    port = free_udp_port((PRIMARY, SILENT, LAGGARD))
    workdir = tmp_path_factory.mktemp("domains-dns")
    hole = BlackHole(SILENT, port)
    try:
        with running(workdir / "primary", RECORDS, address=PRIMARY, port=port) as primary, \
                running(workdir / "lagging", LAGGING, address=LAGGARD, port=port) as lagging:
            yield Zone(primary, lagging)
    finally:
        hole.close()


@pytest.fixture(scope="session")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The sites process: {"https_port", "http_port", "ca_bundle"}."""
    workdir = tmp_path_factory.mktemp("domains-sites")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("domains_sites.py")),
                             str(workdir), ZONE], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("the sites process did not start")
    try:
        yield json.loads(line)
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def domains_config(zone: Zone, sites: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def make(hosts: list[Any], **overrides: Any) -> dict[str, Any]:
        return {"hosts": hosts, "resolvers": [PRIMARY], "dns_port": zone.port,
                "dns_timeout": 0.5, "http_timeout": 2, "https_port": sites["https_port"],
                "http_port": sites["http_port"], "ca_bundle": sites["ca_bundle"],
                "interval": 3600, **overrides}
    return make


@pytest.fixture
def start_domains(nebula_agent: Callable[..., Any],
                  domains_config: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`async with start_domains(hosts, **config) as agent:`; `plugins` and `config` add
    other plugins (zoneedit) beside it."""
    def start(hosts: list[Any], plugins: dict[str, Any] | None = None,
              config: dict[str, Any] | None = None, **overrides: Any) -> Any:
        return nebula_agent({"domains": plugin, **(plugins or {})},
                            config={"domains": domains_config(hosts, **overrides),
                                    **(config or {})}, schedule=False)
    return start
