"""Running containers' settings read through the Docker API (Docker Engine or Podman's
compatible service): privileged, host network, the engine's socket mounted, running as
root, no memory limit, an image older than `image_max_age_days`.

The docker SDK blocks, so all of one reading runs in a worker thread; it is imported only
once something accepts a connection where the engine should listen (the knock of
nebula.helpers.dockerapi), as in the docker plugin."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nebula.api import PluginContext, Status
from nebula.helpers.dockerapi import engine_url, knock
from nebula_security.findings import Assessment, Finding, assess, not_applicable, unknown

SOCKETS = ("docker.sock", "podman.sock", "containerd.sock")


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    privileged: bool
    host_network: bool
    engine_socket: str | None
    user: str
    memory: int
    image_created: float | None


def _created(value: str | None) -> float | None:
    if not value:
        return None
    # Engines give nanoseconds ("2024-01-02T03:04:05.123456789Z"); keep microseconds.
    head, _, frac = value.rstrip("Z").partition(".")
    try:
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()
    except ValueError:
        return None


def _container(info: Mapping[str, Any], image: Mapping[str, Any]) -> Container:
    host = info.get("HostConfig") or {}
    mounts = info.get("Mounts") or []
    socket = next((str(m.get("Source")) for m in mounts
                   if str(m.get("Source", "")).endswith(SOCKETS)), None)
    return Container(
        name=str(info.get("Name", "")).lstrip("/"),
        image=str((info.get("Config") or {}).get("Image") or info.get("Image", "")),
        privileged=bool(host.get("Privileged")),
        host_network=host.get("NetworkMode") == "host",
        engine_socket=socket,
        user=str((info.get("Config") or {}).get("User") or ""),
        memory=int(host.get("Memory") or 0),
        image_created=_created(image.get("Created")))


def read(base_url: str, timeout: float) -> list[Container]:
    """Every running container, inspected (worker thread)."""
    import docker  # the knock was answered: worth loading now

    client = docker.DockerClient(base_url=base_url, timeout=timeout)  # type: ignore[arg-type]
    try:
        found = []
        images: dict[str, Mapping[str, Any]] = {}
        for summary in client.api.containers():
            info = client.api.inspect_container(summary["Id"])
            image_id = str(info.get("Image", ""))
            if image_id not in images:
                try:
                    images[image_id] = client.api.inspect_image(image_id)
                except docker.errors.NotFound:
                    images[image_id] = {}
            found.append(_container(info, images[image_id]))
        return found
    finally:
        client.close()


def is_root(user: str) -> bool:
    name = user.split(":", 1)[0]
    return name in ("", "root", "0")


def judge(containers: list[Container], max_age_days: float,
          now: float) -> list[Finding]:
    findings = []
    for c in containers:
        who = f"container {c.name}"
        if c.privileged:
            findings.append(Finding(5, f"{who} runs privileged (full access to the host)",
                                    "drop `privileged: true` from its compose service (or "
                                    "`--privileged` from its run command); grant only the "
                                    "`cap_add:` it needs", Status.CRITICAL))
        if c.engine_socket:
            findings.append(Finding(5, f"{who} has the engine's socket {c.engine_socket} "
                                       "mounted (root on the host for whoever controls it)",
                                    f"remove the `{c.engine_socket}` volume, or put a "
                                    "read-only socket proxy in between", Status.CRITICAL))
        if c.host_network:
            findings.append(Finding(3, f"{who} uses the host's network (every port it "
                                       "opens is on the host)",
                                    "remove `network_mode: host` and publish only the "
                                    "ports it needs (`ports: [\"127.0.0.1:8080:8080\"]`)"))
        if is_root(c.user):
            findings.append(Finding(1, f"{who} runs as root",
                                    'set `user: "1000:1000"` (a user the image supports) '
                                    "in its compose service"))
        if c.memory <= 0:
            findings.append(Finding(1, f"{who} has no memory limit",
                                    "set `mem_limit: 512m` (what it needs) in its compose "
                                    "service, or `--memory 512m`"))
        if c.image_created is not None:
            days = (now - c.image_created) / 86400
            if days > max_age_days:
                findings.append(Finding(1, f"{who}'s image {c.image} was built {days:.0f} "
                                           "days ago: it misses its base's security fixes",
                                        f"`docker pull {c.image}` and recreate the "
                                        "container (`docker compose up -d`)"))
    return findings


def url_of(ctx: PluginContext) -> str:
    docker_config = ctx.peer_config("docker") or {}
    return engine_url(ctx.config["docker_url"] or docker_config.get("base_url") or "")


async def read_engine(ctx: PluginContext) -> list[Container] | Assessment:
    """The containers, or the assessment to give when there is none to read."""
    base_url = url_of(ctx)
    timeout = ctx.config["command_timeout"]
    try:
        await asyncio.to_thread(knock, base_url, min(timeout, 3.0))
    except OSError as exc:
        return not_applicable("containers", f"no container engine answers at {base_url} "
                                            f"({exc.strerror or exc})")
    if importlib.util.find_spec("docker") is None:  # found without importing it here
        return unknown("containers", f"a container engine answers at {base_url} but the "
                                     "docker SDK is not installed",
                       "pip install 'nebula-command[security]'")
    try:
        return await asyncio.to_thread(read, base_url, timeout)
    except Exception as exc:  # the engine's failure is the check's answer, not a crash
        return unknown("containers", f"the engine at {base_url} failed: "
                                     f"{type(exc).__name__}: {exc}", "see the engine's log")


async def assess_containers(ctx: PluginContext) -> Assessment:
    found = await read_engine(ctx)
    if isinstance(found, Assessment):
        return found
    findings = judge(found, ctx.config["image_max_age_days"], time.time())
    return assess("containers", findings,
                  f"{len(found)} running containers: none privileged, on the host network, "
                  "with the engine socket or without limits",
                  {"containers": float(len(found))})
