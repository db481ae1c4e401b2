"""What an app's checks look at beyond its container and URL: its domain's certificate as a
client sees it on the wire (a handshake with the domain's name at the address Caddy serves
it on, trusted as the caddy plugin trusts), and its own database reached with its own
generated credentials. psycopg is imported only once a knock at the server is answered
(nebula.helpers.libpq), and only for apps that have a database."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from nebula.helpers import tlscert
from nebula.helpers.libpq import ServerUnreachable, knock

# Caddy renews when a third of a certificate's lifetime is left: less than a fifth left
# means renewal is failing (the caddy plugin's cert_warning default).
NEAR_EXPIRY = 0.2
TIMEOUT = 5.0


async def _internal_root(http: aiohttp.ClientSession, admin_url: str) -> str | None:
    """The PEM root of Caddy's internal CA (its admin API's /pki/ca/local), if it has one."""
    try:
        async with http.get(f"{admin_url.rstrip('/')}/pki/ca/local",
                            timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as resp:
            if resp.status != 200:
                return None
            return str(json.loads(await resp.text()).get("root_certificate") or "") or None
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return None


async def certificate(http: aiohttp.ClientSession, caddy: Mapping[str, Any] | None,
                      address: str, port: int, domain: str) -> dict[str, Any]:
    """`{"status": ok|warning|critical, "text": ...}` for the certificate `domain` gets at
    `address:port`, verified against the system's trust store (or the caddy plugin's
    `ca_bundle`) plus Caddy's internal CA when the caddy plugin trusts it."""
    caddy = caddy or {}
    root = (await _internal_root(http, caddy.get("admin_url", "http://127.0.0.1:2019"))
            if caddy.get("trust_internal_ca", True) else None)
    verify = tlscert.verifying_context(caddy.get("ca_bundle"), root)
    state = await tlscert.probe(domain, address, port, verify, TIMEOUT)
    if not state.trusted:
        return {"status": "critical", "text": state.error or "not trusted"}
    now = time.time()
    left = state.remaining(now)
    hours = ((state.not_after or now) - now) / 3600
    text = f"valid, {hours:.1f} h left (issuer {state.issuer})"
    if left is not None and left < NEAR_EXPIRY:
        return {"status": "warning", "text": f"{text}: renewal is failing?"}
    return {"status": "ok", "text": text}


async def database(dsn: str) -> dict[str, Any]:
    """`{"status": ok|critical, "text": ...}`: a connection as the app's own role to its
    own database, and `SELECT 1` on it. The DSN (with its password) is never in the
    text."""
    parts = urlsplit(dsn)
    where = f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
    try:
        await knock(parts.hostname or "localhost", parts.port or 5432, TIMEOUT)
    except ServerUnreachable as exc:
        return {"status": "critical", "text": str(exc)}
    try:
        import psycopg
    except ImportError:
        return {"status": "critical", "text": "the database check needs psycopg: install "
                                              "nebula-command[postgres]"}
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(TIMEOUT))
        try:
            await conn.execute("SELECT 1")
        finally:
            await conn.close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return {"status": "critical", "text": f"{where}: {reason}"}
    return {"status": "ok", "text": f"{where} answers as {parts.username}"}
