"""Podman engines set up as a busy host's, beside the session's ordinary one:

- `rotating`: its events log rotates every few kB (Podman's default is 1 MB, which a host
  with a restart loop fills in minutes), so a test sees Podman send old events again;
- `slow_cleanup`: conmon runs the cleanup of an exited container seconds late (as a loaded
  host does), so a test sees Podman's transitional `stopped` state for that long.

Each is a real `podman system service` on its own storage, started at first use.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors

from tests.engines.podman import IMAGE, Podman
from tests.waiting import wait_for

ROTATE_AT = "24k"
ROTATE_BYTES = 24 * 1024
CLEANUP_DELAY = 4  # seconds between a container's exit and its cleanup


def rotating() -> Podman:
    return Podman(extra_conf=f'events_logfile_max_size = "{ROTATE_AT}"\n')


def slow_cleanup(folder: Path) -> Podman:
    """conmon, delayed: `--exit-delay` holds back the exit command (`podman container
    cleanup`), which is what turns `stopped` into `exited`."""
    conmon = shutil.which("conmon")
    if conmon is None:
        raise RuntimeError("the docker plugin's tests need conmon (podman's monitor)")
    wrapper = folder / "conmon"
    wrapper.write_text(f'#!/bin/sh\nexec {conmon} --exit-delay {CLEANUP_DELAY} "$@"\n')
    wrapper.chmod(0o755)
    return Podman(extra_conf=f'conmon_path = ["{wrapper}"]\n')


def serve(engine: Podman) -> Iterator[Podman]:
    try:
        yield engine.start()
    finally:
        engine.close()


class Containers:
    """Busybox containers on one engine, each test's removed after it."""

    def __init__(self, engine: Podman) -> None:
        self.engine = engine
        self.client = docker.DockerClient(base_url=engine.base_url, timeout=30)
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self._count = 0

    def run(self, command: list[str], **kw: Any) -> Any:
        self._count += 1
        return self.client.containers.run(IMAGE, command, name=f"{self.prefix}-{self._count}",
                                          detach=True, **kw)

    def close(self) -> None:
        for container in self.client.containers.list(all=True):
            if container.name.startswith(self.prefix):
                self._remove(container)
        self.client.close()

    @staticmethod
    def _remove(container: Any) -> None:
        try:
            container.remove(force=True)
        except docker.errors.APIError:
            # Podman refuses now and then while a container is between its exit and its
            # cleanup ("container state improper: stopped"): once cleaned up, it goes.
            def cleaned_up() -> bool:
                container.reload()
                return container.attrs["State"]["Status"] != "stopped"

            wait_for(cleaned_up, timeout=CLEANUP_DELAY + 30, interval=0.1)
            container.remove(force=True)


def containers_on(engine: Podman) -> Iterator[Containers]:
    made = Containers(engine)
    try:
        yield made
    finally:
        made.close()

