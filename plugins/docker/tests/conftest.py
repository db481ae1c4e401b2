"""Fixtures of the docker plugin's tests: the session's Podman engine, a docker SDK client
on it and per-test containers, shared with other plugins' tests (tests/engines/podman_fixtures.py);
and engines set up as a busy host's (docker_engines.py), each with its own containers."""

from collections.abc import Iterator

import docker_engines
import pytest

from tests.engines import podman_fixtures as engine_fixtures
from tests.engines.podman import Podman

podman = engine_fixtures.podman
client = engine_fixtures.client
run_container = engine_fixtures.run_container


@pytest.fixture(scope="session")
def rotating_podman() -> Iterator[Podman]:
    yield from docker_engines.serve(docker_engines.rotating())


@pytest.fixture(scope="session")
def slow_cleanup_podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    yield from docker_engines.serve(
        docker_engines.slow_cleanup(tmp_path_factory.mktemp("conmon")))


@pytest.fixture
def on_rotating(rotating_podman: Podman) -> Iterator[docker_engines.Containers]:
    yield from docker_engines.containers_on(rotating_podman)


@pytest.fixture
def on_slow_cleanup(slow_cleanup_podman: Podman) -> Iterator[docker_engines.Containers]:
    yield from docker_engines.containers_on(slow_cleanup_podman)
