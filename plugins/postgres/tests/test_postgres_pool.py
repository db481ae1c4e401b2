"""The plugin's own connection pool, and refusals that happen before any SQL."""

from __future__ import annotations

import asyncio

import pytest

from nebula_postgres.provision import PlanError, specs
from nebula_postgres.server import APPLICATION, Server
from tests.engines.postgres import Cluster


def _server(cluster: Cluster, size: int) -> Server:
    return Server({**cluster.config(), "dbname": "postgres", "connect_timeout": 5,
                   "pool_size": size, "sslmode": "disable"})


async def test_the_pool_is_bounded_and_reuses_connections(cluster: Cluster) -> None:
    server = _server(cluster, 2)
    seen: set[int] = set()
    most = 0

    async def use() -> None:
        nonlocal most
        async with server.pool.connection() as conn:
            seen.add(conn.info.backend_pid)
            cur = await conn.execute("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name = %s", [APPLICATION])
            most = max(most, (await cur.fetchone())[0])
            await conn.execute("SELECT pg_sleep(0.1)")

    try:
        await asyncio.gather(*(use() for _ in range(6)))
        assert server.pool.idle == 2
        assert len(seen) == 2 and most <= 2
    finally:
        await server.close()
    assert server.pool.idle == 0
    with pytest.raises(RuntimeError, match="pool is closed"):
        async with server.pool.connection():
            pass


async def test_a_connection_that_failed_is_not_reused(cluster: Cluster) -> None:
    server = _server(cluster, 1)
    try:
        with pytest.raises(Exception, match="division by zero"):
            async with server.pool.connection() as conn:
                await conn.execute("SELECT 1 / 0")
        assert server.pool.idle == 0
        async with server.pool.connection() as conn:
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
    finally:
        await server.close()


def test_privileges_outside_the_known_ones_are_refused() -> None:
    with pytest.raises(PlanError, match="unknown database privilege 'CONNECT; DROP'"):
        specs([{"name": "app", "grants": [{"role": "app", "privileges": ["CONNECT; DROP"]}]}])
    with pytest.raises(PlanError, match="declared twice"):
        specs([{"name": "app"}, {"name": "app"}])
