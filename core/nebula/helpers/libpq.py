"""A knock before loading a PostgreSQL driver: is anyone listening where libpq would go?

psycopg, with the libpq, libssl and libcrypto its binary package brings, is about 9 MB of an
agent's memory and a tenth of a second of its start. A plugin whose server is absent (not
installed yet, down, elsewhere) should not carry it for nothing: it knocks first, a plain TCP
(or Unix socket) connect, and imports the driver once a knock is answered. A refused knock
reads as a refused libpq connection does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys


class ServerUnreachable(OSError):
    """No host answered the knock; the message says why for each, in libpq's words."""


def driver_loaded() -> bool:
    return "psycopg" in sys.modules


def _target(host: str, port: int) -> str:
    if host.startswith("/"):  # a socket directory, as libpq reads `host`
        return os.path.join(host, f".s.PGSQL.{port}")
    return host


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout expired"
    if isinstance(exc, OSError) and exc.errno and exc.errno > 0:
        return os.strerror(exc.errno)  # "Connection refused", as libpq says it
    return " ".join(str(exc).split()) or type(exc).__name__


async def _knock_one(host: str, port: int, timeout: float) -> None:
    target = _target(host, port)
    opened = (asyncio.open_unix_connection(target) if target != host
              else asyncio.open_connection(host, port))
    _, writer = await asyncio.wait_for(opened, timeout)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def knock(host: str, port: int, timeout: float) -> None:
    """Returns when one of the hosts (libpq takes a comma-separated list) accepts a
    connection on `port`; raises ServerUnreachable with each host's reason when none does.
    Callers knock only while the driver is not loaded (`driver_loaded()`)."""
    if host.startswith("@"):  # an abstract socket: leave it to libpq
        return
    reasons = []
    for one in host.split(","):
        try:
            await _knock_one(one, port, timeout)
            return
        except (OSError, asyncio.TimeoutError) as exc:
            target = _target(one, port)
            where = (f'on socket "{target}"' if target != one
                     else f'at "{one}", port {port}')
            reasons.append(f"connection to server {where} failed: {_reason(exc)}")
    raise ServerUnreachable("; ".join(reasons))
