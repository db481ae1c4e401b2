"""A verified certificate is read from what `ssl` decoded (getpeercert), so a healthy host is
checked without `cryptography.x509` (~7 MB with its Rust library) ever being imported; one
that fails verification is parsed with it, and still described in full. The agent runs in
a fresh interpreter, where sys.modules tells."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from domains_api import check_id, name
from domains_zone import ZONE

from nebula_domains.certs import Certificate, inspecting_context, verifying_context

AGENT = r"""
import asyncio, json, sys
from pathlib import Path
from nebula.config import load
from nebula.testing import run_agent, write_config
import nebula_domains.plugin

async def main(folder, section, rounds):
    path = write_config(Path(folder) / "nebula.toml", None, {"domains": section})
    seen = []
    async with run_agent(load(path), {"domains": nebula_domains.plugin},
                         schedule=False) as agent:
        for checks in rounds:
            status, body = await agent.post("/api/v1/checks/run", {"names": checks})
            assert status == 200, body
            x509 = "cryptography.x509" in sys.modules
            # Last: the table checks every host not checked yet.
            _, panel = await agent.get("/api/v1/panels/domains.table")
            seen.append({
                "x509": x509,
                "checks": {c["name"]: [c["last_status"], c["summary"]] for c in body["checks"]},
                "rows": {r["host"].split(".")[0]: r for r in panel["data"]}})
    print(json.dumps(seen))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])))
"""


def _agent(tmp_path: Path, section: dict[str, Any], rounds: list[list[str]]
           ) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", AGENT, str(tmp_path), json.dumps(section),
                           json.dumps(rounds)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_healthy_host_is_checked_without_cryptography(tmp_path: Path, domains_config: Any
                                                        ) -> None:
    labels = ["valid", "expired", "wrongname"]
    healthy, rejected = _agent(tmp_path, domains_config([name(label) for label in labels]),
                               [[check_id("valid")],
                                [check_id("expired"), check_id("wrongname")]])
    assert healthy["x509"] is False
    status, summary = healthy["checks"][check_id("valid")]
    assert status == "ok" and "certificate 90 days left (Nebula Test CA, TLSv1." in summary
    row = healthy["rows"]["valid"]
    assert 89 < row["tls_days_left"] <= 90 and row["tls_issuer"] == "Nebula Test CA"
    # Rejected certificates are parsed, so now it is loaded; each is described in full.
    assert rejected["x509"] is True
    expired, wrongname = (rejected["checks"][check_id(label)] for label in labels[1:])
    assert expired[0] == "critical" and "certificate has expired" in expired[1]
    assert wrongname[0] == "critical" and "Hostname mismatch" in wrongname[1]
    assert rejected["rows"]["expired"]["tls_days_left"] < -1
    assert rejected["rows"]["expired"]["tls_issuer"] == "Nebula Test CA"
    assert 89 < rejected["rows"]["wrongname"]["tls_days_left"] <= 90


def _handshake(port: int, server_name: str, context: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(sock, server_hostname=server_name)


def test_both_readings_of_a_certificate_agree(sites: dict[str, Any]) -> None:
    verifying = ssl.create_default_context(cafile=sites["ca_bundle"])
    for label in ("valid", "wrongname"):
        host = name(label)
        with _handshake(sites["https_port"], host, inspecting_context()) as tls:
            der = tls.getpeercert(binary_form=True)
        assert der
        verifying.check_hostname = label == "valid"  # the other names other.example
        with _handshake(sites["https_port"], host, verifying) as tls:
            decoded = tls.getpeercert()
        assert decoded
        parsed = Certificate.from_der(der)
        assert Certificate.from_peercert(decoded) == parsed
        assert parsed.issuer == "Nebula Test CA"
    assert parsed.names == ("other.example",)


def test_the_inspecting_context_loads_no_ca_store() -> None:
    assert inspecting_context().cert_store_stats()["x509_ca"] == 0
    assert ZONE  # the zone the sites serve (imported for the names above)


async def test_the_system_store_is_loaded_by_the_first_handshake(sites: dict[str, Any]) -> None:
    """Without ca_bundle the verifying context trusts the system's store, loaded when a
    host first answers, not when the plugin starts; it then verifies: the sites' test CA is
    not in that store."""
    context = verifying_context(None)
    assert context.cert_store_stats()["x509_ca"] == 0
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        await asyncio.open_connection("127.0.0.1", sites["https_port"], ssl=context,
                                      server_hostname=name("valid"))
    assert refused.value.verify_message == "unable to get local issuer certificate"
    assert context.cert_store_stats()["x509_ca"] > 0
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
