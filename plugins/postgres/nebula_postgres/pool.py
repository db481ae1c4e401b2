"""A small bounded pool of psycopg async connections (psycopg_pool is not a dependency).

At most `size` connections are open or being opened at once; callers beyond that wait.
A connection that saw any error goes away rather than back to the pool: after a
cancelled or failed call its state is unknown, and a new one is cheap next to a
monitoring round that misreads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


class Pool:
    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]],
                 size: int) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection] = []
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        if self._closed:
            raise RuntimeError("the connection pool is closed")
        async with self._slots:
            conn = await self._take()
            try:
                yield conn
            except BaseException:
                await _close(conn)
                raise
            from psycopg.pq import TransactionStatus  # loaded: conn is psycopg's

            if self._closed or conn.closed or conn.info.transaction_status != \
                    TransactionStatus.IDLE:
                await _close(conn)
            else:
                self._idle.append(conn)

    async def _take(self) -> psycopg.AsyncConnection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and not conn.broken:
                return conn
            await _close(conn)
        return await self._connect()

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def clear(self) -> None:
        """Closes the idle connections (after a server restart, say)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close(conn)

    async def close(self) -> None:
        self._closed = True
        await self.clear()


async def _close(conn: psycopg.AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
