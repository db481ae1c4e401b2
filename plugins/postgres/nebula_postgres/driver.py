"""psycopg, loaded only once there is a server to talk to.

psycopg, with the libpq, libssl and libcrypto its binary package brings, is about 9 MB of
an agent's memory and a tenth of a second of its start: an agent whose server is absent
(not installed yet, down, or elsewhere) would carry it for nothing. So until psycopg is
loaded, every connection first knocks: a plain TCP (or Unix socket) connect to the
server. A knock that is refused is the same Unreachable a refused libpq connection is;
the first knock that is answered loads psycopg, and from then on libpq connects directly.
"""

from __future__ import annotations

import sys

from nebula.helpers.libpq import ServerUnreachable, driver_loaded, knock
from nebula_postgres.snapshot import Unreachable


def loaded() -> bool:
    return driver_loaded()


def errors() -> tuple[type[BaseException], ...]:
    """What talking to the server raises when it fails: a refused knock, OSError, and
    psycopg.Error once psycopg is loaded (an except clause evaluates this when reached)."""
    psycopg = sys.modules.get("psycopg")
    found: tuple[type[BaseException], ...] = (Unreachable, OSError)
    return found if psycopg is None else (*found, psycopg.Error)


async def ready(host: str, port: int, timeout: float) -> None:
    """Returns once psycopg may be imported (nebula.helpers.libpq.knock); raises Unreachable
    with each host's reason when no server answers."""
    if loaded():
        return
    try:
        await knock(host, port, timeout)
    except ServerUnreachable as exc:
        raise Unreachable(str(exc)) from None
