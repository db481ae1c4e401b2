"""The TLS context that reads a certificate verification refused, and what a certificate says.

The verifying context is `nebula.helpers.net.trust` for a configured CA bundle, and for the
system store `verifying_context`, which loads that store at its first handshake.

A verified certificate is read from what `ssl` already decoded (`getpeercert()`); only one
that failed verification, which `ssl` does not decode, is parsed with `cryptography`,
imported then: its x509 module (with the Rust library under it, ~7 MB) stays out of an
agent whose hosts are healthy."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nebula.helpers.net import trust

if TYPE_CHECKING:
    from cryptography import x509

# The attribute names RFC 4514 abbreviates, as `ssl` spells them.
_SHORT = {"commonName": "CN", "localityName": "L", "stateOrProvinceName": "ST",
          "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "streetAddress": "STREET", "domainComponent": "DC", "userId": "UID"}


def inspecting_context() -> ssl.SSLContext:
    """Accepts any certificate: used only to read one that failed verification, so its
    expiry and issuer can still be reported. It verifies nothing, so it loads no CA store
    (the system's is ~0.75 MB of memory per context)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _SystemTrust(ssl.SSLContext):
    """`ssl.create_default_context()` whose CA store (the system's, ~0.7 MB resident) is
    loaded by its first handshake: an agent whose hosts do not answer never needs it.
    asyncio makes every TLS connection's SSLObject through `wrap_bio`, on the event loop."""

    _store_loaded = False

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if not self._store_loaded:
            self.load_default_certs(ssl.Purpose.SERVER_AUTH)
            self._store_loaded = True
        return super().wrap_bio(*args, **kwargs)


def verifying_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verifies certificate and name: against `ca_bundle` (loaded now, so a bad bundle
    fails the start), else against the system's store, loaded at the first handshake."""
    if ca_bundle:
        return trust(ca_bundle)
    return _SystemTrust(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname on


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    not_after: float  # epoch seconds
    names: tuple[str, ...]

    def days_left(self, now: float) -> float:
        return (self.not_after - now) / 86400

    @classmethod
    def from_peercert(cls, decoded: Mapping[str, Any]) -> Certificate:
        """From `SSLObject.getpeercert()`: what `ssl` decoded of a verified certificate."""
        return cls(_decoded_name(decoded.get("subject", ())),
                   _decoded_name(decoded.get("issuer", ())),
                   float(ssl.cert_time_to_seconds(decoded["notAfter"])),
                   tuple(value for kind, value in decoded.get("subjectAltName", ())
                         if kind == "DNS"))

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """From the certificate's bytes, which is all `ssl` gives of one it did not verify."""
        return _parse(der)


def _decoded_name(rdns: Iterable[Iterable[tuple[str, str]]]) -> str:
    """A name as `_name` words it, from `ssl`'s ((attribute, value), ...) per RDN."""
    pairs = [pair for rdn in rdns for pair in rdn]
    for wanted in ("commonName", "organizationName"):
        for attribute, value in pairs:
            if attribute == wanted:
                return value
    return ",".join(f"{_SHORT.get(a, a)}={v}" for a, v in reversed(pairs))


# A host serves the same certificate cycle after cycle (and one wildcard covers many hosts):
# parsing it again each time would cost more than the rest of its TLS check.
@functools.lru_cache(maxsize=1024)
def _parse(der: bytes) -> Certificate:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(_name(cert.subject), _name(cert.issuer),
                       cert.not_valid_after_utc.timestamp(), names)


def _name(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        if found := name.get_attributes_for_oid(oid):
            return str(found[0].value)
    return name.rfc4514_string()
