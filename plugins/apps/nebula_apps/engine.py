"""The container engine calls a deploy makes, through the docker SDK (Docker Engine or
Podman's Docker-compatible service). The SDK blocks: callers run these in a thread.

The SDK (~6 MB resident with requests and urllib3) is imported by `client()` only once
something accepts a connection where the engine should listen (nebula.helpers.dockerapi):
an agent with the plugin enabled and no engine never loads it. The functions below take a
client, so they run only after that import and name the SDK's errors where they need them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.helpers.dockerapi import engine_url, knock

if TYPE_CHECKING:
    import docker

LABEL = "nebula.app"
TEMPLATE_LABEL = "nebula.app.template"


class EngineError(Exception):
    """An engine call failed; the message says which and why in the owner's words."""


class EngineUnavailable(EngineError):
    """Nothing answers where the engine should listen; the message says where and why."""


def client(base_url: str, timeout: float) -> docker.DockerClient:
    """A client of the engine at `base_url` (empty: DOCKER_HOST, else the default socket),
    after a knock there (EngineUnavailable when nobody answers it)."""
    try:
        knock(base_url, timeout)
    except OSError as exc:
        raise EngineUnavailable(f"engine at {engine_url(base_url)} unreachable: "
                                f"{exc.strerror or exc}") from None
    import docker  # something listens there: the SDK is worth loading now

    return docker.DockerClient(base_url=base_url, timeout=int(timeout)) if base_url \
        else docker.from_env(timeout=int(timeout))


def _why(exc: Exception) -> str:
    from docker.errors import APIError

    if isinstance(exc, APIError):
        return str(exc.explanation or exc)
    return str(exc)


def image_present(c: docker.DockerClient, image: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        c.images.get(image)
    except ImageNotFound:
        return False
    return True


def create_volume(c: docker.DockerClient, name: str, app: str) -> bool:
    """Whether it was made now: a volume this app kept from an earlier removal (its label
    names the app) is used again, as it is; anyone else's is refused."""
    from docker.errors import NotFound

    try:
        found = c.volumes.get(name)
    except NotFound:
        c.volumes.create(name, labels={LABEL: app})
        return True
    if (found.attrs.get("Labels") or {}).get(LABEL) == app:
        return False
    raise EngineError(f"volume {name} already exists and is not {app}'s: not taking over "
                      "its data")


def remove_volume(c: docker.DockerClient, name: str) -> None:
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        c.volumes.get(name).remove(force=True)


def run_container(c: docker.DockerClient, spec: Mapping[str, Any],
                  env: Mapping[str, str]) -> str:
    """Create and start the app's container; its id. A container left created but not
    started (the port was taken) is removed before the error is raised."""
    from docker.errors import APIError, ImageNotFound

    try:
        container = c.containers.create(
            spec["image"], list(spec["command"]) or None, name=spec["container"],
            environment=dict(env), labels={LABEL: spec["app"], TEMPLATE_LABEL: spec["template"]},
            ports={f"{spec['port']}/tcp": (spec["bind"], spec["host_port"])},
            volumes={v["volume"]: {"bind": v["path"], "mode": "rw"} for v in spec["volumes"]},
            # The stubs know only "always" and "on-failure"; the engines take this too and
            # it is what a stopped-by-hand app wants.
            restart_policy={"Name": "unless-stopped"},  # type: ignore[arg-type]
            detach=True)
    except ImageNotFound:
        raise EngineError(f"image {spec['image']} is not on the engine (pull it first)"
                          ) from None
    except APIError as exc:
        raise EngineError(f"cannot create container {spec['container']}: {_why(exc)}"
                          ) from None
    try:
        container.start()
    except APIError as exc:
        container.remove(force=True)
        raise EngineError(f"cannot start container {spec['container']}: {_why(exc)}"
                          ) from None
    return str(container.id)


def remove_container(c: docker.DockerClient, name: str) -> None:
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        c.containers.get(name).remove(force=True)


def container_state(c: docker.DockerClient, name: str) -> dict[str, Any] | None:
    from docker.errors import NotFound

    try:
        attrs = c.containers.get(name).attrs
    except NotFound:
        return None
    state = attrs.get("State") or {}
    return {"id": str(attrs.get("Id", ""))[:12], "state": state.get("Status"),
            "exit_code": state.get("ExitCode"), "restarts": int(attrs.get("RestartCount") or 0)}


def exists(c: docker.DockerClient, container: str) -> bool:
    from docker.errors import NotFound

    try:
        c.containers.get(container)
    except NotFound:
        return False
    return True
