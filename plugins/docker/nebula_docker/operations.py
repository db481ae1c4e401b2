"""Container actions (start, stop, restart, remove) and log reading, in worker threads.

An action is bound to a container's id, resolved from the name when it is requested: what
an admin approves is that container, not whatever carries its name when the approval comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nebula_docker.model import from_inspect

if TYPE_CHECKING:
    import docker
    from docker.types.daemon import CancellableStream


class ContainerNotFound(Exception):
    pass


class ContainerReplaced(Exception):
    """The container an action was bound to is gone; the message names what took its name."""


def get(client: docker.DockerClient, ref: str) -> Any:
    from docker.errors import NotFound  # on a client: the SDK is loaded (engine.py)

    try:
        return client.containers.get(ref)
    except NotFound:
        raise ContainerNotFound(f"no container named or with id {ref!r}") from None


def resolve(client: docker.DockerClient, ref: str) -> dict[str, str]:
    """The container `ref` names, as its name and full id."""
    container = get(client, ref)
    return {"container": container.name, "id": container.id}


def bound(client: docker.DockerClient, target: Mapping[str, Any]) -> Any:
    """The container `target` (from `resolve`) was bound to; refused when its id is gone."""
    if not isinstance(target.get("id"), str) or not target["id"]:
        raise ContainerNotFound("this action was not resolved to a container id; "
                                "nothing was done")
    from docker.errors import NotFound

    name, wanted = target.get("container", ""), target["id"]
    try:
        return client.containers.get(wanted)
    except NotFound:
        pass
    try:
        now = client.containers.get(name)
    except NotFound:
        raise ContainerReplaced(f"container {name} (id {wanted[:12]}) no longer exists; "
                                "nothing was done") from None
    raise ContainerReplaced(f"container {name} was id {wanted[:12]} when this was requested "
                            f"and is id {now.short_id} now (recreated?); nothing was done: "
                            "request it again for the new container") from None


def lifecycle(client: docker.DockerClient, target: Mapping[str, Any],
              verb: str) -> dict[str, Any]:
    """start, stop, restart or remove the bound container; answers its state afterwards."""
    container = bound(client, target)
    timeout = int(target.get("timeout", 10))
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


def tail(client: docker.DockerClient, ref: str, lines: int, max_bytes: int,
         redact: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The last `lines` lines (stdout and stderr), `redact`ed, cut to the last `max_bytes`
    bytes. Redacted before the cut, so a secret the cut would halve is still whole."""
    raw = redact(get(client, ref).logs(tail=lines, stdout=True, stderr=True,
                                       timestamps=False))
    truncated = len(raw) > max_bytes
    if truncated:
        raw = raw[-max_bytes:]
        # Start on a whole line rather than in the middle of one.
        cut = raw.find(b"\n")
        raw = raw[cut + 1:] if 0 <= cut < len(raw) - 1 else raw
    return {"container": ref, "lines": raw.decode("utf-8", "replace").splitlines(),
            "truncated": truncated}


def follow(client: docker.DockerClient, ref: str, lines: int) -> CancellableStream[bytes]:
    """A cancellable stream of log chunks (`.close()` ends it from another thread)."""
    return get(client, ref).logs(stream=True, follow=True, tail=lines)
