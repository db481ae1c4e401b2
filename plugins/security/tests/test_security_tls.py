"""The domains' TLS probed on the wire: real TLS servers on loopback, one that still offers
TLS 1.0/1.1 and one that offers only 1.2+, certificates from a test CA (valid, near expiry,
untrusted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme
from security_tls_server import HOST, serve, server_context

from nebula_security.tlsprobe import assess_tls


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def setup(ca: trustme.CA, tmp_path: Path, port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    domains = {"hosts": [HOST], "https_port": port, "ca_bundle": str(bundle),
               "tls_warning_days": 21, "tls_critical_days": 7}
    config = {"tls_addresses": {HOST: "127.0.0.1"}, "tls_timeout": 5}
    return domains, config


async def test_a_server_offering_tls_1_0_and_1_1_loses_points(ca, tmp_path):
    async with serve(server_context(ca, legacy=True)) as (port, versions):
        found = await assess_tls(*setup(ca, tmp_path, port))
    assert found.status.value == "warning"
    [weak] = found.findings
    assert weak.reason == f"{HOST}:{port} still accepts TLS 1.0 and TLS 1.1"
    assert weak.points == 4 and "protocols tls1.2 tls1.3" in weak.fix
    # The probe really negotiated them (and the certificate read used a modern version).
    assert {"TLSv1", "TLSv1.1"} <= set(versions)


async def test_a_server_offering_only_tls_1_2_and_up_is_clean(ca, tmp_path):
    async with serve(server_context(ca, legacy=False)) as (port, versions):
        found = await assess_tls(*setup(ca, tmp_path, port))
    assert found.status.value == "ok" and found.lost == 0, found
    assert found.summary == "1 hosts: certificates valid, TLS 1.2+ only"
    assert not {"TLSv1", "TLSv1.1"} & set(versions)


async def test_a_certificate_near_expiry_and_an_untrusted_one(ca, tmp_path):
    async with serve(server_context(ca, legacy=False, days=3)) as (port, _):
        found = await assess_tls(*setup(ca, tmp_path, port))
    assert found.status.value == "critical"
    assert "the certificate expires in 3.0 days" in found.findings[0].reason or \
        "the certificate expires in 2.9 days" in found.findings[0].reason
    other = trustme.CA()  # a CA the client does not trust
    async with serve(server_context(other, legacy=False)) as (port, _):
        found = await assess_tls(*setup(ca, tmp_path, port))
    assert found.status.value == "critical"
    assert found.findings[0].reason.startswith(f"{HOST}:{port}: certificate not trusted")


async def test_without_the_domains_plugin_there_is_nothing_to_probe():
    found = await assess_tls(None, {"tls_addresses": {}, "tls_timeout": 5})
    assert found.lost == 0 and "domains plugin is not running" in found.summary
