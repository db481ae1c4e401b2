"""psycopg, loaded only once there is a server to talk to.

psycopg, with the libpq, libssl and libcrypto its binary package brings, is about 9 MB of
an agent's memory and a tenth of a second of its start: an agent whose server is absent
(not installed yet, down, or elsewhere) would carry it for nothing. So until psycopg is
loaded, every connection first knocks: a plain TCP (or Unix socket) connect to the
server. A knock that is refused is the same Unreachable a refused libpq connection is;
the first knock that is answered loads psycopg, and from then on libpq connects directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from nebula_postgres.snapshot import Unreachable


def loaded() -> bool:
    return "psycopg" in sys.modules


def errors() -> tuple[type[BaseException], ...]:
    """What talking to the server raises when it fails: a refused knock, OSError, and
    psycopg.Error once psycopg is loaded (an except clause evaluates this when reached)."""
    psycopg = sys.modules.get("psycopg")
    found: tuple[type[BaseException], ...] = (Unreachable, OSError)
    return found if psycopg is None else (*found, psycopg.Error)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout expired"
    if isinstance(exc, OSError) and exc.errno and exc.errno > 0:
        return os.strerror(exc.errno)  # "Connection refused", as libpq says it
    return " ".join(str(exc).split()) or type(exc).__name__


def _target(host: str, port: int) -> str:
    if host.startswith("/"):  # a socket directory, as libpq reads `host`
        return os.path.join(host, f".s.PGSQL.{port}")
    return host


async def _knock(host: str, port: int, timeout: float) -> None:
    target = _target(host, port)
    opened = (asyncio.open_unix_connection(target) if target != host
              else asyncio.open_connection(host, port))
    _, writer = await asyncio.wait_for(opened, timeout)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def ready(host: str, port: int, timeout: float) -> None:
    """Returns once psycopg may be imported: at once when it is loaded, else when one of
    the hosts (libpq takes a comma-separated list) accepts a connection on `port`; raises
    Unreachable with each host's reason when none does."""
    if loaded() or host.startswith("@"):  # an abstract socket: leave it to libpq
        return
    reasons = []
    for one in host.split(","):
        try:
            await _knock(one, port, timeout)
            return
        except (OSError, asyncio.TimeoutError) as exc:
            target = _target(one, port)
            where = (f'on socket "{target}"' if target != one
                     else f'at "{one}", port {port}')
            reasons.append(f"connection to server {where} failed: {_reason(exc)}")
    raise Unreachable("; ".join(reasons))
