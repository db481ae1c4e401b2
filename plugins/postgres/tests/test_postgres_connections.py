"""Whether applications can connect, against a real server: every limit that refuses a
new connection shows in `postgres.connections` with its own message, and
`postgres.reachable` asks on a connection of its own, so a server that takes no new
connections is not called reachable because an old pooled one still answers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from postgres_api import AgentFactory, in_state, run_checks

import nebula_postgres.plugin
from tests.engines.postgres import Cluster
from tests.waiting import eventually

# Real PostgreSQL servers (the suite's `cluster`, and a small one of this module's own).
pytestmark = pytest.mark.e2e


async def _app(cluster: Cluster, role: str, dbname: str) -> psycopg.AsyncConnection:
    """A connection as an application role (not a superuser), over the cluster's Unix
    socket, which trusts local users: no password to handle."""
    return await psycopg.AsyncConnection.connect(host=str(cluster.root), port=cluster.port,
                                                 user=role, dbname=dbname, autocommit=True)


async def _fill(cluster: Cluster, role: str, dbname: str, refused: str,
                most: int = 20) -> list[psycopg.AsyncConnection]:
    """Application connections opened until the server refuses one with `refused`."""
    opened: list[psycopg.AsyncConnection] = []
    try:
        for _ in range(most):
            opened.append(await _app(cluster, role, dbname))
    except psycopg.OperationalError as exc:
        assert refused in str(exc), exc
        return opened
    for conn in opened:
        await conn.close()
    raise AssertionError(f"{most} connections and none refused with {refused!r}")


@pytest.fixture
async def closing() -> AsyncIterator[list[psycopg.AsyncConnection]]:
    """Connections to close after the test."""
    conns: list[psycopg.AsyncConnection] = []
    yield conns
    for conn in conns:
        await conn.close()


async def test_a_database_at_its_connection_limit_is_critical(
        pg_agent: AgentFactory, cluster: Cluster, dbname: str,
        closing: list[psycopg.AsyncConnection]) -> None:
    role = f"{dbname}_app"
    cluster.execute(f"CREATE ROLE {role} LOGIN")
    cluster.execute(f"CREATE DATABASE {dbname} CONNECTION LIMIT 2")
    closing += await _fill(cluster, role, dbname, "too many connections for database")
    assert len(closing) == 2
    async with pg_agent() as agent:
        check = (await run_checks(agent, "connections"))["connections"]
    assert check["last_status"] == "critical", check["summary"]
    assert (f"database {dbname} is at its CONNECTION LIMIT: 2 of 2 connections, new ones "
            f"are refused") in check["summary"]
    assert check["metrics"]["limits_reached"] == 1
    # The server as a whole is far from full: that ratio alone said ok.
    assert check["metrics"]["connections_percent"] < 80


async def test_a_role_at_its_connection_limit_is_critical_and_near_it_warns(
        pg_agent: AgentFactory, cluster: Cluster, dbname: str,
        closing: list[psycopg.AsyncConnection]) -> None:
    role = f"{dbname}_app"
    cluster.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 5")
    cluster.execute(f"CREATE DATABASE {dbname}")
    closing += [await _app(cluster, role, dbname) for _ in range(4)]
    async with pg_agent() as agent:
        near = (await run_checks(agent, "connections"))["connections"]
        closing.append(await _app(cluster, role, dbname))
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            await _app(cluster, role, dbname)
        full = await eventually(lambda: in_state(agent, "connections", "critical"))
    assert near["last_status"] == "warning", near["summary"]
    assert f"role {role} uses 4 of its CONNECTION LIMIT 5 (80%)" in near["summary"]
    assert (f"role {role} is at its CONNECTION LIMIT: 5 of 5 connections, new ones are "
            f"refused") in full["summary"]


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[Cluster]:
    """A server of its own with 8 connection slots, 3 of them for superusers only."""
    started = Cluster.start({"max_connections": "8", "superuser_reserved_connections": "3"})
    try:
        yield started
    finally:
        started.stop()


async def test_the_slots_reserved_for_superusers_are_critical_when_apps_reach_them(
        nebula_agent: AgentFactory, small_cluster: Cluster,
        closing: list[psycopg.AsyncConnection]) -> None:
    small_cluster.execute("CREATE ROLE app LOGIN")
    config = {"postgres": small_cluster.config(interval=1)}
    async with nebula_agent({"postgres": nebula_postgres.plugin}, config=config,
                            schedule=False) as agent:
        before = (await run_checks(agent, "connections"))["connections"]
        # The agent (a superuser) holds one slot: applications get the next four.
        closing += await _fill(small_cluster, "app", "postgres",
                               "remaining connection slots are reserved")
        check = await eventually(lambda: in_state(agent, "connections", "critical"))
    assert before["last_status"] == "ok", before["summary"]
    assert len(closing) == 4
    assert check["summary"].startswith("5 of 8 connections in use (62%;")
    assert ("only the 3 slots reserved for superusers are left "
            "(superuser_reserved_connections): other roles are refused from 5 connections "
            "on") in check["summary"]
    assert check["metrics"]["reserved_connections"] == 3


async def test_reachable_gives_up_in_time_when_the_server_takes_no_new_connections(
        pg_agent: AgentFactory, cluster: Cluster) -> None:
    """A stopped postmaster accepts no new session while the old ones still answer: the
    check opens its own connection, so it says so within its timeouts."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    async with pg_agent(connect_timeout=2, statement_timeout=1) as agent:
        first = (await run_checks(agent, "reachable"))["reachable"]
        os.kill(postmaster, signal.SIGSTOP)
        try:
            started = time.monotonic()
            stopped = (await run_checks(agent, "reachable"))["reachable"]
            took = time.monotonic() - started
            # The pooled connection the other checks read through still works.
            pooled = (await run_checks(agent, "connections"))["connections"]
        finally:
            os.kill(postmaster, signal.SIGCONT)
        back = await eventually(lambda: in_state(agent, "reachable", "ok"), timeout=10)
    assert stopped["last_status"] == "critical", stopped["summary"]
    assert stopped["summary"] == (f"Cannot connect to {cluster.host}:{cluster.port}: "
                                  f"connection timeout expired")
    assert took < 2 + 1 + 2  # connect_timeout + statement_timeout, and a margin
    assert first["last_status"] == "ok" and "connected in" in first["summary"]
    assert first["metrics"]["connect_ms"] > 0
    assert pooled["last_status"] == "ok"
    assert back["summary"].startswith("PostgreSQL 15")
