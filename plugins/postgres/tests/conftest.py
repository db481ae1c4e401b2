"""Fixtures for the postgres plugin: the session's real throwaway cluster, a fresh database
name per test, and an agent running the plugin against the cluster."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from postgres_api import Agent, AgentFactory

import nebula_postgres.plugin
from tests.plugins.postgres import conftest as engine_fixtures
from tests.plugins.postgres.pg_cluster import Cluster

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
