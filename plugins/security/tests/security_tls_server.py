"""Local TLS servers for the security plugin's tests: a trustme CA's certificate served on
a loopback port by Python's ssl, offering TLS 1.0 to 1.3 (OpenSSL 3 needs `@SECLEVEL=0` to
accept 1.0/1.1 at all) or only 1.2 and up, like a current Caddy or nginx."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import trustme

HOST = "app.example.com"


def server_context(ca: trustme.CA, *, legacy: bool, days: float = 90) -> ssl.SSLContext:
    now = datetime.now(timezone.utc)
    leaf = ca.issue_cert(HOST, not_before=now - timedelta(days=1),
                         not_after=now + timedelta(days=days))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    if legacy:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # a deprecated version is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    else:
        with warnings.catch_warnings():  # a deprecated version is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@asynccontextmanager
async def serve(ctx: ssl.SSLContext) -> AsyncIterator[tuple[int, list[str]]]:
    """Serve on 127.0.0.1; yields the port and the versions clients completed handshakes
    with (so a test sees what was actually negotiated)."""
    versions: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls = writer.get_extra_info("ssl_object")
        if tls is not None:
            versions.append(str(tls.version()))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    try:
        yield server.sockets[0].getsockname()[1], versions
    finally:
        server.close()
        await server.wait_closed()
