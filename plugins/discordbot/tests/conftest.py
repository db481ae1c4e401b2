"""Fixtures of the discordbot tests, shared rather than copied: the session's throwaway
PostgreSQL cluster (postgres tests), its Podman engine and containers (docker tests), and a
loopback health endpoint (tests/appwatch_support.py)."""

from tests import appwatch_support
from tests.engines import podman_fixtures as docker_fixtures
from tests.engines import postgres_fixtures as postgres_fixtures

cluster = postgres_fixtures.cluster
podman = docker_fixtures.podman
client = docker_fixtures.client
run_container = docker_fixtures.run_container
health_endpoint = appwatch_support.health_endpoint
