"""The TLS context that reads a certificate verification refused, and what a certificate says.

(The verifying context is `nebula.helpers.net.trust`: the configured CA bundle or the
system store.)"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID


def inspecting_context() -> ssl.SSLContext:
    """Accepts any certificate: used only to read one that failed verification, so its
    expiry and issuer can still be reported."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    not_after: float  # epoch seconds
    names: tuple[str, ...]

    def days_left(self, now: float) -> float:
        return (self.not_after - now) / 86400

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        return _parse(der)


# A host serves the same certificate cycle after cycle (and one wildcard covers many hosts):
# parsing it again each time would cost more than the rest of its TLS check.
@functools.lru_cache(maxsize=1024)
def _parse(der: bytes) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(_name(cert.subject), _name(cert.issuer),
                       cert.not_valid_after_utc.timestamp(), names)


def _name(name: x509.Name) -> str:
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        if found := name.get_attributes_for_oid(oid):
            return str(found[0].value)
    return name.rfc4514_string()
