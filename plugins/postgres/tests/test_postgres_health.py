"""Health checks of the postgres plugin against a real server, over the agent's HTTP API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest
from postgres_api import (
    AgentFactory,
    approve,
    in_state,
    panel,
    result_of,
    run_action,
    run_checks,
)

from nebula.api import KeyValue
from nebula_postgres.coordinator import DAY, SIZE_HISTORY_KEY, Monitor
from nebula_postgres.server import Server
from tests.engines.postgres import Cluster
from tests.waiting import eventually

ALL_CHECKS = ("reachable", "connections", "database_sizes", "long_queries",
              "idle_in_transaction", "lock_waits", "wraparound", "cache_hit", "replication",
              "backup_age")


async def _connect(cluster: Cluster, dbname: str = "postgres") -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        host=cluster.host, port=cluster.port, user=cluster.user, password=cluster.password,
        dbname=dbname, autocommit=True)


async def test_every_check_reads_a_healthy_server(pg_agent: AgentFactory, cluster: Cluster) -> None:
    async with pg_agent() as agent:
        checks = await run_checks(agent, *ALL_CHECKS)
    verdicts = {name: c["last_status"] for name, c in checks.items()}
    assert verdicts == {**dict.fromkeys(ALL_CHECKS, "ok"), "backup_age": "warning"}
    reachable = checks["reachable"]
    assert reachable["summary"].startswith("PostgreSQL 15") and "primary" in \
        reachable["summary"]
    assert 0 < reachable["metrics"]["latency_ms"] < 1000
    assert reachable["metrics"]["server_version_num"] >= 150000
    assert checks["connections"]["metrics"]["max_connections"] == 100
    assert checks["database_sizes"]["metrics"]["postgres.size_bytes"] > 1_000_000
    assert checks["wraparound"]["metrics"]["xid_age"] > 0
    assert checks["replication"]["summary"] == "No replicas"
    assert checks["backup_age"]["summary"] == "Backups are not configured (set backup_dir)"


@pytest.mark.parametrize("broken, message", [
    ({"password": "wrong-password"}, 'password authentication failed for user "postgres"'),
    ({"port": 1}, "Connection refused"),
    # TLS options reach libpq: this test server has no TLS.
    ({"sslmode": "require"}, "server does not support SSL"),
])
async def test_unreachable_server_is_critical_with_the_servers_message(
        pg_agent: AgentFactory, broken: dict[str, Any], message: str) -> None:
    async with pg_agent(connect_timeout=2, **broken) as agent:
        status, plugins = await agent.get("/api/v1/plugins")
        assert status == 200
        assert {p["name"]: p["state"] for p in plugins["plugins"]}["postgres"] == "loaded"
        checks = await run_checks(agent, "reachable", "connections")
    assert checks["reachable"]["last_status"] == "critical"
    assert message in checks["reachable"]["summary"]
    assert checks["connections"]["last_status"] == "unknown"
    assert message in checks["connections"]["summary"]


async def test_connections_against_max_connections(pg_agent: AgentFactory) -> None:
    async with pg_agent(connections_warning=1, connections_critical=50) as agent:
        warned = (await run_checks(agent, "connections"))["connections"]
    async with pg_agent(connections_warning=0.5, connections_critical=1) as agent:
        critical = (await run_checks(agent, "connections"))["connections"]
    assert warned["last_status"] == "warning"
    assert "of 100 connections in use" in warned["summary"]
    assert critical["last_status"] == "critical"


async def test_a_long_running_query_warns_and_can_be_cancelled(pg_agent: AgentFactory,
                                                               cluster: Cluster) -> None:
    conn = await _connect(cluster)
    pid = conn.info.backend_pid
    sleeper = asyncio.create_task(conn.execute("SELECT pg_sleep(60)"))
    try:
        async with pg_agent(long_query_seconds=0.3) as agent:
            await asyncio.sleep(0.5)
            check = await eventually(lambda: in_state(agent, "long_queries", "warning"))
            assert f"pid {pid}" in check["summary"] and "pg_sleep(60)" in check["summary"]
            activity = await result_of(agent, "activity")
            assert any(s["pid"] == pid and s["state"] == "active" for s in activity)
            cancelled = await result_of(agent, "cancel_query", {"pid": pid})
            assert cancelled["signalled"] and cancelled["action"] == "cancelled"
            with pytest.raises(psycopg.errors.QueryCanceled):
                await asyncio.wait_for(sleeper, 5)
            # The session survives a cancel.
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
            await eventually(lambda: in_state(agent, "long_queries", "ok"))
    finally:
        sleeper.cancel()
        await conn.close()


async def test_idle_in_transaction_warns_and_terminate_needs_approval(pg_agent: AgentFactory,
                                                                      cluster: Cluster) -> None:
    conn = await _connect(cluster)
    pid = conn.info.backend_pid
    await conn.set_autocommit(False)
    await conn.execute("SELECT 1")
    try:
        async with pg_agent(idle_in_transaction_seconds=0.3) as agent:
            await asyncio.sleep(0.4)
            check = await eventually(lambda: in_state(agent, "idle_in_transaction", "warning"))
            assert f"pid {pid}" in check["summary"]
            pending = await run_action(agent, "terminate_backend", {"pid": pid})
            assert pending["status"] == "pending_approval"
            # Not ended on request alone.
            assert (await (await conn.execute("SELECT 2")).fetchone()) == (2,)
            approved = await approve(agent, pending)
            assert approved["result"]["action"] == "terminated"
            with pytest.raises(psycopg.OperationalError):
                await conn.execute("SELECT 3")
            await eventually(lambda: in_state(agent, "idle_in_transaction", "ok"))
    finally:
        await conn.close()


async def test_a_blocked_lock_wait_names_its_blocker(pg_agent: AgentFactory, cluster: Cluster,
                                                     dbname: str) -> None:
    cluster.execute(f"CREATE DATABASE {dbname}")
    cluster.execute("CREATE TABLE t (id int)", dbname)
    holder = await _connect(cluster, dbname)
    waiter = await _connect(cluster, dbname)
    await holder.set_autocommit(False)
    await holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
    blocked = asyncio.create_task(waiter.execute("SELECT * FROM t"))
    try:
        async with pg_agent(lock_wait_seconds=0.3) as agent:
            await asyncio.sleep(0.4)
            check = await eventually(lambda: in_state(agent, "lock_waits", "warning"))
            assert f"pid {waiter.info.backend_pid}" in check["summary"]
            assert f"blocked by pid {holder.info.backend_pid}" in check["summary"]
            await holder.rollback()
            await asyncio.wait_for(blocked, 5)
            await eventually(lambda: in_state(agent, "lock_waits", "ok"))
    finally:
        blocked.cancel()
        await holder.close()
        await waiter.close()


async def test_wraparound_and_cache_hit_judge_their_thresholds(pg_agent: AgentFactory,
                                                              cluster: Cluster) -> None:
    async with pg_agent(wraparound_warning=1, wraparound_critical=2 ** 31,
                        cache_hit_warning=100.5) as agent:
        checks = await run_checks(agent, "wraparound", "cache_hit")
        # The first reading has no earlier one to judge the window since; the block
        # accesses of this session fall in a later window.
        await asyncio.to_thread(cluster.execute, "SELECT count(*) FROM pg_class")
        cache_hit = await eventually(lambda: in_state(agent, "cache_hit", "warning"))
    assert checks["wraparound"]["last_status"] == "warning"
    assert "Oldest transaction-ID age" in checks["wraparound"]["summary"]
    assert checks["cache_hit"]["last_status"] == "ok"
    assert checks["cache_hit"]["summary"].startswith("First reading: ")
    assert 0 < cache_hit["metrics"]["cache_hit_percent"] <= 100


async def test_growth_per_day_from_a_kept_reading(cluster: Cluster, dbname: str) -> None:
    """A reading kept a day ago (as the monitor keeps one an hour, in the store) gives
    growth per day."""
    cluster.execute(f"CREATE DATABASE {dbname}")
    server = Server({**cluster.config(), "dbname": "postgres", "connect_timeout": 5,
                     "pool_size": 2})
    kv = KeyValue(None, "postgres")
    try:
        size = (await Monitor(server, kv, 0).read()).sizes[dbname]
        await kv.set(SIZE_HISTORY_KEY, [{"t": time.time() - DAY, "sizes": {dbname: size}}])
        cluster.execute("CREATE TABLE grow AS SELECT g, repeat('x', 200) AS pad "
                        "FROM generate_series(1, 20000) g", dbname)
        snap = await Monitor(server, kv, 0).read()
    finally:
        await server.close()
    grown = snap.sizes[dbname] - size
    assert grown > 4_000_000
    assert snap.growth[dbname] == pytest.approx(grown, rel=0.01)
    assert snap.growth["postgres"] is None  # no older reading of it
    assert len(await kv.get(SIZE_HISTORY_KEY)) == 2


async def test_panels_and_read_only_tools(pg_agent: AgentFactory, cluster: Cluster) -> None:
    async with pg_agent() as agent:
        overview = await panel(agent, "overview")
        assert overview["role"] == "primary" and overview["max_connections"] == 100
        sizes = await panel(agent, "databases")
        assert "postgres" in {row["database"] for row in sizes}
        status, tools = await agent.get("/api/v1/tools")
        assert status == 200
        ours = {t["name"]: t for t in tools["tools"] if t["name"].startswith("postgres.")}
        assert set(ours) == {"postgres.activity", "postgres.sizes", "postgres.slow_queries"}
        assert all(t["read_only"] for t in ours.values())
        slow = agent.agent.tools["postgres.slow_queries"]
        missing = await slow.run({})
        assert missing["available"] is False
        assert "pg_stat_statements is not installed" in missing["message"]
        cluster.execute("CREATE EXTENSION pg_stat_statements")
        try:
            cluster.execute("SELECT count(*) FROM pg_class")
            found = await slow.run({"limit": 5})
        finally:
            cluster.execute("DROP EXTENSION pg_stat_statements")
        assert found["available"] is True and 0 < len(found["queries"]) <= 5
        assert {"query", "calls", "mean_ms"} <= set(found["queries"][0])


async def test_replication_lag_from_a_real_standby(pg_agent: AgentFactory,
                                                   cluster: Cluster) -> None:
    replica = cluster.standby()
    try:
        cluster.execute("CREATE TABLE IF NOT EXISTS replicated (id int)")
        async with pg_agent() as agent:
            check = await eventually(
                lambda: in_state(agent, "replication", "ok", "1 of 1 replicas streaming"),
                timeout=10)
        assert check["metrics"]["replicas"] == 1
        async with pg_agent(port=replica.port) as agent:
            checks = await run_checks(agent, "reachable", "replication")
        assert "(replica)" in checks["reachable"]["summary"]
        assert checks["replication"]["last_status"] == "ok"
        assert checks["replication"]["summary"].startswith("Replica replay lag")
    finally:
        replica.stop()


async def test_sizes_are_reused_for_sizes_interval(cluster: Cluster, dbname: str) -> None:
    server = Server({**cluster.config(), "dbname": "postgres", "connect_timeout": 5,
                     "pool_size": 1})
    monitor = Monitor(server, KeyValue(None, "postgres"), max_age=0, sizes_max_age=300)
    try:
        await monitor.read()
        cluster.execute(f"CREATE DATABASE {dbname}")
        cached = await monitor.read()
        monitor.forget()  # as after provisioning
        measured = await monitor.read()
    finally:
        await server.close()
    assert dbname not in cached.sizes
    assert dbname in measured.sizes


async def test_a_server_restart_costs_no_failed_reading(pg_agent: AgentFactory,
                                                        cluster: Cluster) -> None:
    async with pg_agent() as agent:
        assert (await run_checks(agent, "reachable"))["reachable"]["last_status"] == "ok"
        await asyncio.to_thread(cluster.restart)  # the pooled connection is now dead
        await asyncio.sleep(0.6)  # past the shared reading's age
        after = (await run_checks(agent, "reachable"))["reachable"]
    assert after["last_status"] == "ok", after["summary"]
