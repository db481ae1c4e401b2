"""A TLS site's certificate as a client sees it on the wire: a handshake with the site's
name (SNI) to the address that serves it, verified against the system's trust store (or a
configured bundle) plus, when asked, one more root (Caddy's own internal CA). Used by the
caddy plugin for every site and by the apps plugin for each app's domain.

"Near expiry" is measured against the certificate's lifetime, not in days: Caddy renews
when a third of it is left, for a 90-day ACME certificate and a 12-hour internal one alike,
so less than `cert_warning` (a fifth) left means renewal is failing."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Any

from nebula.helpers.net import reason


@dataclass(frozen=True)
class CertState:
    host: str
    address: str
    trusted: bool
    error: str | None = None
    issuer: str | None = None
    not_before: float | None = None
    not_after: float | None = None

    def remaining(self, now: float) -> float | None:
        """The fraction of the certificate's lifetime still ahead (negative: expired)."""
        if self.not_after is None or self.not_before is None:
            return None
        life = self.not_after - self.not_before
        return (self.not_after - now) / life if life > 0 else None

    def public(self, now: float) -> dict[str, Any]:
        left = self.remaining(now)
        return {"host": self.host, "address": self.address, "trusted": self.trusted,
                "error": self.error, "issuer": self.issuer,
                "expires": self.not_after,
                "hours_left": None if self.not_after is None
                else round((self.not_after - now) / 3600, 1),
                "lifetime_left": None if left is None else round(left, 3)}


def verifying_context(ca_bundle: str | None, internal_root: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_bundle or None)
    if internal_root:
        ctx.load_verify_locations(cadata=internal_root)
    return ctx


def _inspecting_context() -> ssl.SSLContext:
    """Reads a certificate that failed verification (its dates and issuer still matter)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _handshake(address: str, port: int, host: str, ctx: ssl.SSLContext,
                     timeout: float) -> tuple[dict[str, Any], bytes]:
    """What the handshake showed of the certificate: `ssl`'s decoding (verified ones
    only) and its bytes."""
    _, writer = await asyncio.wait_for(asyncio.open_connection(
        address, port, ssl=ctx, server_hostname=host, ssl_handshake_timeout=timeout), timeout)
    try:
        tls = writer.get_extra_info("ssl_object")
        return dict(tls.getpeercert() or {}), tls.getpeercert(binary_form=True) or b""
    finally:
        writer.close()


def _name(rdns: Any) -> str:
    pairs = [pair for rdn in rdns for pair in rdn]
    for wanted in ("commonName", "organizationName"):
        for attribute, value in pairs:
            if attribute == wanted:
                return str(value)
    return ",".join(f"{a}={v}" for a, v in pairs)


def _from_der(der: bytes) -> tuple[str, float, float]:
    # Imported only for a certificate that failed verification: `ssl` decodes no other.
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    found = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    issuer = str(found[0].value) if found else cert.issuer.rfc4514_string()
    return issuer, cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


async def probe(host: str, address: str, port: int, verify: ssl.SSLContext,
                timeout: float) -> CertState:
    where = f"{address}:{port}"
    try:
        cert, _ = await _handshake(address, port, host, verify, timeout)
    except ssl.SSLCertVerificationError as exc:
        failure = f"not trusted: {reason(exc)}"
    except asyncio.TimeoutError:
        return CertState(host, where, False, f"no TLS handshake within {timeout:g}s")
    except (OSError, ssl.SSLError) as exc:
        return CertState(host, where, False, f"TLS handshake failed: {reason(exc)}")
    else:
        return CertState(host, where, True, None, _name(cert.get("issuer", ())),
                         ssl.cert_time_to_seconds(cert["notBefore"]),
                         ssl.cert_time_to_seconds(cert["notAfter"]))
    try:
        _, der = await _handshake(address, port, host, _inspecting_context(), timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError):
        der = None
    if not der:
        return CertState(host, where, False, failure)
    issuer, not_before, not_after = _from_der(der)
    if not_after < time.time():
        failure = "expired"
    return CertState(host, where, False, failure, issuer, not_before, not_after)
