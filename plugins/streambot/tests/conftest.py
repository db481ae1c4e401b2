"""Fixtures of the streambot tests, shared rather than copied: the session's throwaway
PostgreSQL cluster (postgres tests) and a loopback health endpoint
(tests/appwatch_support.py)."""

from tests import appwatch_support
from tests.engines import postgres_fixtures as postgres_fixtures

cluster = postgres_fixtures.cluster
health_endpoint = appwatch_support.health_endpoint
