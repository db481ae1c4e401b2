"""The session's throwaway Podman engine, a docker SDK client on it, and containers removed
after each test: shared by every test that needs a real Docker-API engine, the docker
plugin's own (plugins/docker/tests) and other plugins' (they import this module's
fixtures). A missing engine fails the run. It stays beside podman.py until both move to the
engine fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from tests.engines.podman import IMAGE, Podman


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    engine = Podman()
    try:
        yield engine.start()
    finally:
        engine.close()


@pytest.fixture(scope="session")
def client(podman: Podman) -> Iterator[docker.DockerClient]:
    sdk = docker.DockerClient(base_url=podman.base_url, timeout=30)
    yield sdk
    sdk.close()


RunContainer = Callable[..., Any]


@pytest.fixture
def run_container(client: docker.DockerClient) -> Iterator[RunContainer]:
    """`run_container(cmd, **kw)`: a detached busybox container with a unique name; every
    container this test made (by name prefix) is force-removed afterwards."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    count = 0

    def run(command: list[str], *, name: str | None = None, **kw: Any) -> Any:
        nonlocal count
        count += 1
        return client.containers.run(IMAGE, command, name=name or f"{prefix}-{count}",
                                     detach=True, **kw)

    run.prefix = prefix  # type: ignore[attr-defined]
    yield run
    for container in client.containers.list(all=True):
        if container.name.startswith(prefix):
            container.remove(force=True)
