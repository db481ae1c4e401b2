"""Fixtures of the security plugin's tests: the session's Podman engine and per-test
containers (tests/engines/podman_fixtures.py)."""

from tests.engines import podman_fixtures as engine_fixtures

podman = engine_fixtures.podman
client = engine_fixtures.client
run_container = engine_fixtures.run_container
