"""Long queries, sessions idle in a transaction and lock waits warn past their limit and
are critical past a second one, against a real server."""

from __future__ import annotations

import asyncio

import psycopg
from postgres_api import AgentFactory, run_checks

from tests.engines.postgres import Cluster
from tests.waiting import eventually

SESSION_CHECKS = ("long_queries", "idle_in_transaction", "lock_waits")
LIMITS = {"long_query_seconds": 0.2, "long_query_seconds_critical": 0.8,
          "idle_in_transaction_seconds": 0.2, "idle_in_transaction_seconds_critical": 0.8,
          "lock_wait_seconds": 0.2, "lock_wait_seconds_critical": 0.8}


async def _connect(cluster: Cluster, dbname: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        host=cluster.host, port=cluster.port, user=cluster.user, password=cluster.password,
        dbname=dbname, autocommit=True)


async def test_each_session_check_reaches_critical(pg_agent: AgentFactory, cluster: Cluster,
                                                   dbname: str) -> None:
    """A session that holds a lock in an open transaction and one blocked behind it: the
    holder is idle in transaction, the waiter a long query and a lock wait."""
    cluster.execute(f"CREATE DATABASE {dbname}")
    cluster.execute("CREATE TABLE t (id int)", dbname)
    holder = await _connect(cluster, dbname)
    waiter = await _connect(cluster, dbname)
    holder_pid, waiter_pid = holder.info.backend_pid, waiter.info.backend_pid
    await holder.set_autocommit(False)
    await holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
    blocked = asyncio.create_task(waiter.execute("SELECT * FROM t"))

    async def all_critical() -> dict | None:
        checks = await run_checks(agent, *SESSION_CHECKS)
        return checks if all(c["last_status"] == "critical" for c in checks.values()) \
            else None

    try:
        async with pg_agent(**LIMITS) as agent:
            checks = await eventually(all_critical, timeout=10)
            await holder.rollback()
            await asyncio.wait_for(blocked, 5)
    finally:
        blocked.cancel()
        await holder.close()
        await waiter.close()
    summaries = {name: check["summary"] for name, check in checks.items()}
    assert summaries["long_queries"].startswith(
        "1 running queries over 0.2s (1 over 0.8s, critical); longest pid "
        f"{waiter_pid}")
    assert summaries["idle_in_transaction"].startswith(
        "1 sessions idle in transaction over 0.2s (1 over 0.8s, critical); longest pid "
        f"{holder_pid}")
    assert summaries["lock_waits"].startswith(
        f"1 lock waits over 0.2s (1 over 0.8s, critical); longest pid "
        f"{waiter_pid}")
    assert summaries["lock_waits"].endswith(f"; blocked by pid {holder_pid}")


async def test_a_warning_limit_past_its_critical_one_fails_the_start(
        pg_agent: AgentFactory) -> None:
    async with pg_agent(lock_wait_seconds=60, lock_wait_seconds_critical=30) as agent:
        plugin = await agent.plugin("postgres")
    assert plugin["state"] == "failed"
    assert "lock_wait_seconds (60) is above lock_wait_seconds_critical (30)" in \
        plugin["error"]
