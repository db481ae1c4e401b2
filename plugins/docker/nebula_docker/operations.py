"""Container actions (start, stop, restart, remove) and log reading, in worker threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
from docker.errors import NotFound

from nebula_docker.model import from_inspect


class ContainerNotFound(Exception):
    pass


def get(client: docker.DockerClient, ref: str) -> Any:
    try:
        return client.containers.get(ref)
    except NotFound:
        raise ContainerNotFound(f"no container named or with id {ref!r}") from None


def lifecycle(client: docker.DockerClient, ref: str, verb: str,
              timeout: int = 10) -> dict[str, Any]:
    """start, stop, restart or remove one container; answers its state afterwards."""
    container = get(client, ref)
    if verb == "start":
        container.start()
    elif verb == "stop":
        container.stop(timeout=timeout)
    elif verb == "restart":
        container.restart(timeout=timeout)
    elif verb == "remove":
        container.remove(force=True)
        return {"container": container.name, "id": container.id, "state": "removed"}
    else:
        raise ValueError(f"unknown verb {verb}")
    state = from_inspect(client.api.inspect_container(container.id))
    return {"container": state.name, "id": state.id, "state": state.state,
            "health": state.health, "exit_code": state.exit_code}


def tail(client: docker.DockerClient, ref: str, lines: int, max_bytes: int) -> dict[str, Any]:
    """The last `lines` lines (stdout and stderr), cut to the last `max_bytes` bytes."""
    raw: bytes = get(client, ref).logs(tail=lines, stdout=True, stderr=True, timestamps=False)
    truncated = len(raw) > max_bytes
    if truncated:
        raw = raw[-max_bytes:]
        # Start on a whole line rather than in the middle of one.
        cut = raw.find(b"\n")
        raw = raw[cut + 1:] if 0 <= cut < len(raw) - 1 else raw
    return {"container": ref, "lines": raw.decode("utf-8", "replace").splitlines(),
            "truncated": truncated}


def follow(client: docker.DockerClient, ref: str, lines: int) -> Iterator[bytes]:
    """A cancellable stream of log chunks (`.close()` ends it from another thread)."""
    return get(client, ref).logs(stream=True, follow=True, tail=lines)
