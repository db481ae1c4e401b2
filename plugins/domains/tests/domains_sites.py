"""Real TLS and HTTP servers on loopback for the domains tests and benchmark, one host per
certificate case, picked by SNI as Caddy does.

Run as a process (`python plugins/domains/tests/domains_sites.py DIR ZONE`): it writes the test CA
to DIR/ca.pem, prints one JSON line with its ports, and serves until stdin closes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import sys
from pathlib import Path

import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.timezone.utc)
DAY = dt.timedelta(days=1)
# Certificate cases: host label → (names in the certificate, not_before, not_after).
CASES = {
    "valid": (None, NOW - DAY, NOW + 90 * DAY),
    "warning": (None, NOW - DAY, NOW + 15 * DAY),
    "expiring": (None, NOW - DAY, NOW + 5 * DAY),
    "expired": (None, NOW - 90 * DAY, NOW - 2 * DAY),
    "wrongname": (["other.example"], NOW - DAY, NOW + 90 * DAY),
}
SLOW_SECONDS = 3.0


def self_signed(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 90 * DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def contexts(workdir: Path, zone: str) -> tuple[ssl.SSLContext, dict[str, ssl.SSLContext]]:
    """The default context (a wildcard for the zone) and one per certificate case."""
    ca = trustme.CA(organization_name="Nebula Test CA")
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))

    def server_ctx(cert: trustme.LeafCert | None = None,
                   pem: tuple[bytes, bytes] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if cert is not None:
            cert.configure_cert(ctx)
        else:
            assert pem is not None
            path = workdir / "selfsigned.pem"
            path.write_bytes(pem[0] + pem[1])
            ctx.load_cert_chain(str(path))
        return ctx

    per_host = {
        f"{label}.{zone}": server_ctx(ca.issue_cert(*(names or [f"{label}.{zone}"]),
                                                    not_before=start, not_after=end))
        for label, (names, start, end) in CASES.items()}
    per_host[f"selfsigned.{zone}"] = server_ctx(pem=self_signed(f"selfsigned.{zone}"))
    default = server_ctx(ca.issue_cert(f"*.{zone}", zone, not_before=NOW - DAY,
                                       not_after=NOW + 60 * DAY))

    def pick(sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        if server_name in per_host:
            sslobj.context = per_host[server_name]

    default.sni_callback = pick  # type: ignore[assignment]
    return default, per_host


async def page(request: web.Request) -> web.Response:
    host = request.host.split(":")[0]
    label = host.split(".")[0]
    if request.path == "/start":
        raise web.HTTPFound("/middle")
    if request.path == "/middle":
        raise web.HTTPMovedPermanently("/")
    if label == "loop":
        raise web.HTTPFound("/again")
    if label == "error":
        return web.Response(status=500, text="Internal Server Error")
    if label == "slow":
        await asyncio.sleep(SLOW_SECONDS)
    return web.Response(text=f"<html><body>Welcome to {host}</body></html>",
                        content_type="text/html")


def redirector(https_port: int) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        if host.startswith("noredirect."):
            return web.Response(text="plain http is fine here")
        raise web.HTTPMovedPermanently(f"https://{host}:{https_port}{request.path_qs}")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


async def serve(workdir: Path, zone: str) -> tuple[int, int, web.AppRunner, web.AppRunner]:
    default, _ = contexts(workdir, zone)
    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    https = web.AppRunner(app, access_log=None)
    await https.setup()
    await web.TCPSite(https, "127.0.0.1", 0, ssl_context=default, backlog=1024).start()
    https_port = https.addresses[0][1]
    http = web.AppRunner(redirector(https_port), access_log=None)
    await http.setup()
    await web.TCPSite(http, "127.0.0.1", 0, backlog=1024).start()
    return https_port, http.addresses[0][1], https, http


async def main(workdir: Path, zone: str) -> None:
    https_port, http_port, *runners = await serve(workdir, zone)
    print(json.dumps({"https_port": https_port, "http_port": http_port,
                      "ca_bundle": str(workdir / "ca.pem")}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
