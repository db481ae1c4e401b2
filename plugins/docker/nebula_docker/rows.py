"""Containers as plain JSON rows, with the fields that declare them. Panels and Jarvis tools
both serve these, so the dashboard and the model see the same keys and units."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nebula.api import Field
from nebula_docker.coordinator import Point
from nebula_docker.model import Container

CONTAINER_FIELDS = (
    Field("name", "Name", "", "Container name."),
    Field("project", "Project", "", "docker compose project, if any."),
    Field("service", "Service", "", "docker compose service, if any."),
    Field("image", "Image", "", "Image the container runs."),
    Field("state", "State", "", "created, running, paused, restarting, exited or dead."),
    Field("health", "Health", "", "starting, healthy or unhealthy; empty without a "
                                  "healthcheck."),
    Field("restart_count", "Restarts", "", "Restarts by the engine's restart policy "
                                           "(the engine's count)."),
    Field("uptime", "Uptime", "s", "Seconds since the container started; empty when not "
                                   "running."),
    Field("ports", "Ports", "", "Published ports, host:port->container port."),
    Field("cpu_percent", "CPU", "%", "Percent of one core between the last two readings."),
    Field("memory_bytes", "Memory", "bytes", "Memory in use, page cache excluded."),
    Field("exit_code", "Exit code", "", "Exit code of the last run."),
    Field("log_bytes", "Log size", "bytes", "The container's log file on disk (rotated "
                                            "files included); empty when not measured."),
)

STATS_FIELDS = (
    Field("t", "Time", "s", "Epoch seconds of the reading."),
    Field("cpu_percent", "CPU", "%", "Percent of one core."),
    Field("memory_bytes", "Memory", "bytes", "Memory in use, page cache excluded."),
)

DISK_FIELDS = (
    Field("images", "Images", "bytes", "Image layers."),
    Field("containers", "Containers", "bytes", "Containers' writable layers."),
    Field("volumes", "Volumes", "bytes", "Volumes (where the engine reports a size)."),
    Field("build_cache", "Build cache", "bytes", "BuildKit cache."),
    Field("logs", "Logs", "bytes", "Containers' log files (the engine's df leaves them "
                                   "out); empty when the engine is not on this host."),
    Field("reclaimable", "Reclaimable", "bytes", "What unused images, stopped containers, "
                                                 "unused volumes and idle cache hold."),
    Field("image_count", "Image count", "", ""),
    Field("container_count", "Container count", "", ""),
    Field("volume_count", "Volume count", "", ""),
)

DATABASE_FIELDS = (
    Field("name", "Name", "", "Deployment (and container) name."),
    Field("template", "Template", "", "postgres, mariadb, redis, mongo or a configured one."),
    Field("image", "Image", "", ""),
    Field("volume", "Volume", "", "Named volume holding the data."),
    Field("host", "Host", "", "Address the port is published on."),
    Field("port", "Port", "", "Published port."),
)

_SECRET_ENV = re.compile(r"pass|secret|token|key|auth|credential", re.I)


def container(c: Container, now: float) -> dict[str, Any]:
    uptime = c.uptime(now)
    return {"name": c.name, "id": c.id[:12], "project": c.project, "service": c.service,
            "image": c.image, "state": c.state, "health": c.health,
            "restart_count": c.restart_count,
            "uptime": round(uptime) if uptime is not None else None,
            "ports": list(c.ports), "cpu_percent": c.usage.cpu_percent,
            "memory_bytes": c.usage.memory_bytes, "exit_code": c.exit_code,
            "log_bytes": c.log_bytes}


def containers(items: Iterable[Container], now: float) -> list[dict[str, Any]]:
    return [container(c, now) for c in items]


def points(items: Iterable[Point]) -> list[dict[str, Any]]:
    return [{"t": round(p.t, 3), "cpu_percent": p.cpu_percent,
             "memory_bytes": p.memory_bytes} for p in items]


def inspect(data: Mapping[str, Any]) -> dict[str, Any]:
    """The useful part of an inspect answer, with secret-looking env values masked."""
    config = data.get("Config") or {}
    env = []
    for item in config.get("Env") or []:
        key, sep, value = item.partition("=")
        env.append(f"{key}={'***' if sep and _SECRET_ENV.search(key) else value}")
    host = data.get("HostConfig") or {}
    return {
        "id": data.get("Id"), "name": (data.get("Name") or "").lstrip("/"),
        "image": config.get("Image"), "created": data.get("Created"),
        "state": data.get("State"), "restart_count": data.get("RestartCount"),
        "command": (config.get("Entrypoint") or []) + (config.get("Cmd") or []),
        "env": env, "labels": config.get("Labels") or {},
        "healthcheck": config.get("Healthcheck"),
        "restart_policy": host.get("RestartPolicy"),
        "mounts": [{k: m.get(k) for k in ("Type", "Name", "Source", "Destination", "RW")}
                   for m in data.get("Mounts") or []],
        "ports": (data.get("NetworkSettings") or {}).get("Ports"),
    }
