"""The session's throwaway PostgreSQL cluster, shared by every test that needs a real
server: the postgres plugin's own tests (plugins/postgres/tests) and other plugins' (they
import this module's `cluster`). It stays beside pg_cluster.py until both move to the
engine fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engines.postgres import Cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # Every statement is logged, so a test can show that no password ever reached the
    # server as SQL text.
    started = Cluster.start({"log_statement": "all"})
    try:
        yield started
    finally:
        started.stop()
