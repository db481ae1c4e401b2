"""Fixtures for the postgres plugin: one real throwaway cluster per test session, and an
agent running the plugin against it."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import nebula_postgres.plugin
from tests.plugins.postgres.pg_cluster import Cluster

_names = itertools.count()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # Every statement is logged, so a test can show that no password ever reached the
    # server as SQL text.
    started = Cluster.start({"log_statement": "all"})
    try:
        yield started
    finally:
        started.stop()


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
def pg_agent(nebula_agent, cluster: Cluster, tmp_path: Path):
    """`async with pg_agent(**plugin_config) as agent`: an agent running the postgres
    plugin against the session's cluster (checks every second, so readings are fresh)."""

    @contextlib.asynccontextmanager
    async def start(**config: Any) -> AsyncIterator[Any]:
        section = cluster.config(interval=1, **config)
        async with nebula_agent({"postgres": nebula_postgres.plugin},
                                config={"postgres": section}, schedule=False) as agent:
            yield agent

    return start

