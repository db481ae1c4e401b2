"""The session's Podman engine and PostgreSQL cluster (tests/engines) for the advisor's
advice from its peers."""

from tests.engines import podman_fixtures as engine_fixtures
from tests.engines import postgres_fixtures

podman = engine_fixtures.podman
client = engine_fixtures.client
run_container = engine_fixtures.run_container
cluster = postgres_fixtures.cluster
