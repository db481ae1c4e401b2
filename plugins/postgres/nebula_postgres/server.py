"""How the agent reaches the server: connection settings, the pool, and the environment
and binaries for pg_dump / pg_restore.

psycopg is imported only once a server has answered (driver.py).

The password lives only in the connection keywords and, for a child process, in
PGPASSWORD of that child's environment: never in a command line, a DSN that is logged,
or the agent's own environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nebula_postgres import driver
from nebula_postgres.pool import Pool
from nebula_postgres.snapshot import Probe, Unreachable, unreachable

if TYPE_CHECKING:
    import psycopg

APPLICATION = "nebula"
# libpq settings that pass through to connections and child processes alike.
_TLS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
        "sslkey": "PGSSLKEY"}

R = TypeVar("R")


async def one_row(cursor: psycopg.AsyncCursor[R]) -> R:
    """The row of a query that always answers exactly one (an aggregate, a SELECT without
    FROM); none is the server breaking that promise, a psycopg error like any other."""
    row = await cursor.fetchone()
    if row is None:
        import psycopg  # loaded: a cursor came from it

        raise psycopg.ProgrammingError("the query answered no row")
    return row


class Server:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host: str = config["host"]
        self.port: int = config["port"]
        self.user: str = config["user"]
        self.dbname: str = config["dbname"]
        self._password: str | None = config.get("password") or None
        self._tls = {key: config[key] for key in _TLS if config.get(key)}
        self._timeout: int = config["connect_timeout"]
        self._statement_timeout: float = config.get("statement_timeout", 5)
        self._bin_dir: str | None = config.get("bin_dir") or None
        self.pool = Pool(self._connect_default, config["pool_size"])
        self.version_num: int | None = None

    def _keywords(self, dbname: str) -> dict[str, Any]:
        keywords: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user,
                                    "dbname": dbname, "connect_timeout": self._timeout,
                                    "application_name": APPLICATION, **self._tls}
        if self._password is not None:
            keywords["password"] = self._password
        return keywords

    async def _connect_default(self) -> psycopg.AsyncConnection:
        return await self._open(self.dbname)

    async def ready(self) -> None:
        """Returns once psycopg may be loaded: the server answered (driver.py)."""
        await driver.ready(self.host, self.port, self._timeout)

    async def _open(self, dbname: str) -> psycopg.AsyncConnection:
        await self.ready()
        import psycopg  # a server answered (or psycopg was loaded before)

        return await psycopg.AsyncConnection.connect(autocommit=True,
                                                     **self._keywords(dbname))

    @contextlib.asynccontextmanager
    async def connect(self, dbname: str | None = None) -> AsyncIterator[
            psycopg.AsyncConnection]:
        """A connection of its own (another database, or a session-level lock), closed on
        exit."""
        conn = await self._open(dbname or self.dbname)
        try:
            yield conn
        finally:
            await conn.close()

    async def probe(self) -> Probe:
        """Connects anew and runs one query: the pool would say a server is fine that
        takes no new connections (a stopped postmaster, every slot taken), as long as its
        old connections work. The connection has `connect_timeout`, the query
        `statement_timeout`, and the whole probe a deadline past both, for a server whose
        backend stops answering after it accepted the query."""
        deadline = self._timeout + self._statement_timeout + 1
        try:
            return await asyncio.wait_for(self._probe(), deadline)
        except asyncio.TimeoutError:
            raise Unreachable(f"no answer within {deadline:g} s") from None
        except driver.errors() as exc:
            raise unreachable(exc) from exc

    async def _probe(self) -> Probe:
        started = time.perf_counter()
        conn = await self._open(self.dbname)
        try:
            connected = time.perf_counter()
            # SET rather than the `options` startup parameter, which poolers such as
            # PgBouncer refuse.
            await conn.execute("SELECT set_config('statement_timeout', %s, false)",
                               [f"{max(1, round(self._statement_timeout * 1000))}ms"])
            sent = time.perf_counter()
            cur = await conn.execute(
                "SELECT current_setting('server_version'), "
                "current_setting('server_version_num')::int, pg_is_in_recovery()")
            version, version_num, in_recovery = await one_row(cur)
            answered = time.perf_counter()
        finally:
            await conn.close()
        self.version_num = version_num
        return Probe(version, version_num, in_recovery,
                     connect_ms=round((connected - started) * 1000, 3),
                     latency_ms=round((answered - sent) * 1000, 3))

    def dsn_for(self, user: str, password: str, dbname: str) -> str:
        """A DSN to hand to a person once (the password URL-quoted)."""
        from urllib.parse import quote

        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:"
                f"{self.port}/{quote(dbname, safe='')}")

    # --- client programs ------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update({"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user,
                    "PGCONNECT_TIMEOUT": str(self._timeout), "PGAPPNAME": APPLICATION})
        env.update({_TLS[key]: str(value) for key, value in self._tls.items()})
        if self._password is not None:
            env["PGPASSWORD"] = self._password
        return env

    def program(self, name: str) -> str:
        """pg_dump / pg_restore: from `bin_dir`, else the installed client of the server's
        major version or the nearest newer one (pg_dump refuses a server newer than
        itself), else PATH."""
        if self._bin_dir:
            return str(Path(self._bin_dir) / name)
        installed = sorted(
            (int(m.group(1)), p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
            if (m := re.match(r"^(\d+)$", p.parent.parent.name)))
        if self.version_num is None and installed:
            return str(installed[-1][1])  # server not seen yet: the newest is the safest
        major = (self.version_num or 0) // 10000
        for version, path in installed:
            if version >= major:
                return str(path)
        found = shutil.which(name)
        if found is None:
            raise FileNotFoundError(f"{name} not found: install the PostgreSQL client "
                                    f"(version {major} or newer) or set bin_dir")
        return found

    async def close(self) -> None:
        await self.pool.close()
