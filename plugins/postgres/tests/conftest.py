"""Fixtures for the postgres plugin: the session's real throwaway cluster, a fresh database
name per test, a big database (made once), and an agent running the plugin against the
cluster."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from postgres_api import Agent, AgentFactory

import nebula_postgres.plugin
from tests.engines import postgres_fixtures as engine_fixtures
from tests.engines.postgres import Cluster

cluster = engine_fixtures.cluster
_names = itertools.count()


@pytest.fixture
def dbname(cluster: Cluster) -> Iterator[str]:
    """A fresh database name for one test; the database (if made) and its role go after."""
    name = f"t{next(_names)}_db"
    yield name
    with cluster.connect() as conn:
        for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                [f"{name}%"]).fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                [f"{name}%"]).fetchall():
            conn.execute(f'DROP ROLE IF EXISTS "{row[0]}"')


@pytest.fixture(scope="session")
def big_database(cluster: Cluster) -> Iterator[str]:
    """A database of about 170 MB in one table: pg_dump takes seconds over it, and reading
    it all takes more blocks than shared_buffers holds (a sequential scan that big reads
    through a small ring of buffers, so nearly every block is a read, not a hit)."""
    name = "nebula_big"
    cluster.execute(f"DROP DATABASE IF EXISTS {name}")
    cluster.execute(f"CREATE DATABASE {name}")
    cluster.execute("CREATE TABLE big WITH (autovacuum_enabled = off) AS "
                    "SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b, "
                    "repeat(md5(g::text), 2) AS c FROM generate_series(1, 1000000) g", name)
    yield name
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_agent(nebula_agent: AgentFactory, cluster: Cluster) -> AgentFactory:
    """`async with pg_agent(**plugin_config) as agent`: an agent running the postgres
    plugin against the session's cluster (checks every second, so readings are fresh)."""

    @contextlib.asynccontextmanager
    async def start(**config: Any) -> AsyncIterator[Agent]:
        section = cluster.config(interval=1, **config)
        async with nebula_agent({"postgres": nebula_postgres.plugin},
                                config={"postgres": section}, schedule=False) as agent:
            yield agent

    return start
