"""The domains' TLS as a client sees it: the certificate's expiry and trust (through
nebula.helpers.tlscert, as the caddy and apps plugins read it) and whether the server still
accepts TLS 1.0 or 1.1, probed with one handshake per version from a context that offers
only that version.

OpenSSL 3 (Debian 12) will not even offer TLS 1.0/1.1 at its default security level 1 and
needs `@SECLEVEL=0` in the cipher string: without it the probe's ClientHello would never
say "1.0" and every server would look safe. The probe verifies nothing (only the version
matters) and sends no request after the handshake."""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nebula.api import Status
from nebula.helpers import tlscert
from nebula_security.findings import Assessment, Finding, assess, not_applicable

WEAK = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1}
LABEL = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1"}


@dataclass(frozen=True)
class Target:
    host: str
    address: str
    port: int


@functools.cache
def only(version: str) -> ssl.SSLContext:
    """A client context that offers exactly `version` and accepts any certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # deprecated on purpose: offering them is the probe
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = WEAK[version]
    return ctx


def targets(domains: Mapping[str, Any] | None, config: Mapping[str, Any]) -> list[Target]:
    """The domains plugin's hosts whose TLS it judges, at its HTTPS port; an address from
    `tls_addresses` replaces the name's own (split horizon), else the name is resolved."""
    if domains is None:
        return []
    found = []
    for host in domains.get("hosts", []):
        entry = {"name": host} if isinstance(host, str) else host
        if entry.get("https") is False or entry.get("tls") is False:
            continue
        name = str(entry["name"]).rstrip(".")
        address = config["tls_addresses"].get(name, name)
        found.append(Target(name, address, int(domains.get("https_port", 443))))
    return found


async def weak_versions(target: Target, timeout: float) -> list[str]:
    """The weak versions the server completes a handshake with."""
    offered = []
    for version in WEAK:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(
                target.address, target.port, ssl=only(version), server_hostname=target.host,
                ssl_handshake_timeout=timeout), timeout)
        except (OSError, ssl.SSLError, asyncio.TimeoutError):
            continue
        offered.append(version)
        writer.close()
    return offered


async def resolve(target: Target) -> str:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(target.address, target.port, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


async def probe(target: Target, verify: ssl.SSLContext, config: Mapping[str, Any],
                domains: Mapping[str, Any]) -> list[Finding]:
    where = f"{target.host}:{target.port}"
    try:
        address = await resolve(target)
    except OSError as exc:
        return [Finding(3, f"{target.host} does not resolve here ({exc.strerror or exc})",
                        "fix its DNS records (the domains plugin's check says more), or "
                        f'set tls_addresses = {{ "{target.host}" = "<address>" }} in '
                        "[plugins.security]", Status.UNKNOWN)]
    target = Target(target.host, address, target.port)
    timeout = config["tls_timeout"]
    state, weak = await asyncio.gather(
        tlscert.probe(target.host, address, target.port, verify, timeout),
        weak_versions(target, timeout))
    findings = []
    renew = ("renew the certificate (Caddy renews on its own: see its log; certbot: "
             "`certbot renew`)")
    if state.not_after is None:
        findings.append(Finding(5, f"{where}: {state.error}", "serve a valid certificate "
                                "for this name", Status.CRITICAL))
    else:
        days = (state.not_after - time.time()) / 86400
        if days < 0:
            findings.append(Finding(10, f"{where}: the certificate expired "
                                        f"{-days:.0f} days ago", renew, Status.CRITICAL))
        elif not state.trusted:
            findings.append(Finding(5, f"{where}: certificate {state.error}",
                                    "serve a certificate from a trusted CA for this name",
                                    Status.CRITICAL))
        elif days < domains.get("tls_critical_days", 7):
            findings.append(Finding(5, f"{where}: the certificate expires in {days:.1f} days",
                                    renew, Status.CRITICAL))
        elif days < domains.get("tls_warning_days", 21):
            findings.append(Finding(2, f"{where}: the certificate expires in {days:.0f} days",
                                    renew))
    if weak:
        names = " and ".join(LABEL[v] for v in weak)
        findings.append(Finding(2 * len(weak), f"{where} still accepts {names}",
                                "allow TLS 1.2+ only: Caddy `tls { protocols tls1.2 "
                                "tls1.3 }`, nginx `ssl_protocols TLSv1.2 TLSv1.3;`, Apache "
                                "`SSLProtocol -all +TLSv1.2 +TLSv1.3`"))
    return findings


async def assess_tls(domains: Mapping[str, Any] | None,
                     config: Mapping[str, Any]) -> Assessment:
    found = targets(domains, config)
    if domains is None:
        return not_applicable("tls", "no domains to probe (the domains plugin is not "
                                     "running)")
    if not found:
        return not_applicable("tls", "no HTTPS hosts in the domains plugin's list")
    # Loading the trust store costs ~20 ms of CPU: off the loop.
    verify = await asyncio.to_thread(tlscert.verifying_context, domains.get("ca_bundle"),
                                     None)
    results: Sequence[list[Finding]] = await asyncio.gather(
        *(probe(t, verify, config, domains) for t in found))
    findings = [f for r in results for f in r]
    return assess("tls", findings, f"{len(found)} hosts: certificates valid, TLS 1.2+ only",
                  {"hosts": float(len(found))})
