"""Fixtures of the docker plugin's tests: the session's Podman engine, a docker SDK client
on it and per-test containers, shared with other plugins' tests (tests/plugins/docker)."""

from tests.plugins.docker import conftest as engine_fixtures

podman = engine_fixtures.podman
client = engine_fixtures.client
run_container = engine_fixtures.run_container
