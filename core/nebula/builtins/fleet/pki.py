"""The hub's certificate authority and the agents' keys, with `cryptography`.

The hub has one CA (ECDSA P-256, ten years) kept in `<data_dir>/fleet/` (dir 0700, key
0600). It signs two kinds of leaf: each agent's *server* certificate (EKU serverAuth only,
from a CSR the agent made: the agent's key never leaves it) and the hub's own *client*
certificate (EKU clientAuth only). Agents require a client certificate from this CA on
their TLS port; OpenSSL checks the EKU, so an agent's certificate cannot be used to call
another agent, and the hub's cannot serve as an agent.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nebula.filemodes import private_dir, write_private

CA_DAYS = 3650
LEAF_DAYS = 825
CA_NAME = "Nebula fleet CA"
HUB_CLIENT_NAME = "nebula-hub"


def fingerprint(pem: str | bytes) -> str:
    """SHA-256 of a certificate's DER, lower-case hex: what is pinned and compared."""
    data = pem.encode() if isinstance(pem, str) else pem
    cert = x509.load_pem_x509_certificate(data)
    return der_fingerprint(cert.public_bytes(serialization.Encoding.DER))


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_csr(key: ec.EllipticCurvePrivateKey, name: str, hosts: list[str]) -> str:
    """A signing request: a name, and the addresses (if any) the holder is reached at."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_alt_name(h) for h in hosts]), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


class BadRequest(ValueError):
    """A CSR the hub will not sign (the message says why)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass
class Authority:
    """The hub's CA, loaded from (or created in) its folder."""

    folder: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def open(cls, folder: Path) -> Authority:
        private_dir(folder)
        key_path, cert_path = folder / "ca.key", folder / "ca.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC key")
            return cls(folder, key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        key = new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(_now() - datetime.timedelta(minutes=5))
                .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        write_private(key_path, key_pem(key))
        write_private(cert_path, cert_pem(cert))
        return cls(folder, key, cert)

    @property
    def pem(self) -> str:
        return cert_pem(self.cert)

    @property
    def fingerprint(self) -> str:
        return der_fingerprint(self.cert.public_bytes(serialization.Encoding.DER))

    def _leaf(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey,
              usage: x509.ObjectIdentifier, names: list[x509.GeneralName]) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(self.cert.subject).public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(_now() - datetime.timedelta(minutes=5))
                   .not_valid_after(_now() + datetime.timedelta(days=LEAF_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_agent(self, csr_pem: str, name: str) -> str:
        """An agent's server certificate from its CSR: the subject is the name the hub
        records (not what the CSR says), the addresses are the CSR's."""
        public_key, names = _read_csr(csr_pem)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return cert_pem(self._leaf(subject, public_key, ExtendedKeyUsageOID.SERVER_AUTH,
                                   names))

    def sign_client(self, csr_pem: str, name: str) -> str:
        """A client certificate named `name` (whatever the CSR says) from a CSR: the
        Prometheus scrape certificate."""
        public_key, _ = _read_csr(csr_pem)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return cert_pem(self._leaf(subject, public_key, ExtendedKeyUsageOID.CLIENT_AUTH, []))

    def hub_client(self) -> tuple[Path, Path]:
        """The hub's client certificate and key (made once), as files for an SSL context."""
        key_path, cert_path = self.folder / "hub-client.key", self.folder / "hub-client.pem"
        if not (key_path.exists() and cert_path.exists()):
            key = new_key()
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HUB_CLIENT_NAME)])
            cert = self._leaf(subject, key.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, [])
            write_private(key_path, key_pem(key))
            write_private(cert_path, cert_pem(cert))
        return cert_path, key_path


def _read_csr(csr_pem: str) -> tuple[ec.EllipticCurvePublicKey, list[x509.GeneralName]]:
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as exc:
        raise BadRequest(f"not a PEM certificate request: {exc}") from None
    if not csr.is_signature_valid:
        raise BadRequest("the request's signature does not verify")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise BadRequest("the request's key must be an EC key")
    try:
        names = list(csr.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        names = []
    return public_key, names
