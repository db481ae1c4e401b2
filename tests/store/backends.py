"""The store's two backends for parametrized tests: SQLite in the test's data dir, and a
fresh database on the session's throwaway PostgreSQL cluster (tests/engines/postgres.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.engines import postgres_fixtures
from tests.engines.postgres import Cluster

cluster = postgres_fixtures.cluster
BACKENDS = ("sqlite", "postgresql")


def database_url(cluster: Cluster, dbname: str) -> str:
    """A URL without the password: libpq reads it from PGPASSWORD, as a hub's should
    (a password in the URL works too, and is masked everywhere)."""
    return f"postgresql://{cluster.user}@{cluster.host}:{cluster.port}/{dbname}"


def new_database(cluster: Cluster) -> str:
    name = "nebula_" + secrets.token_hex(6)
    cluster.execute(f"CREATE DATABASE {name}")
    return name


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[dict[str, Any]]:
    """`[agent]` keys selecting the backend: {} (SQLite) or {"store": URL}."""
    if request.param == "sqlite":
        yield {}
        return
    pg: Cluster = request.getfixturevalue("cluster")
    monkeypatch.setenv("PGPASSWORD", pg.password)
    name = new_database(pg)
    yield {"store": database_url(pg, name)}
    pg.execute(f"DROP DATABASE {name} WITH (FORCE)")
