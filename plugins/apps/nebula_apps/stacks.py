"""Compose stacks: an existing compose file shown with each service's state on the engine
and its drift from the file; up/down/pull/restart run by a real compose implementation
found on the host, never one written here.

Which implementation: `compose` in config when set (a command line, e.g. `["podman-compose",
"--podman-path", "/usr/local/bin/podman-remote"]`), else the first found of `docker
compose` (the Docker CLI plugin), `podman-compose`, `docker-compose`. Containers are matched
to services by the labels every one of them sets (`com.docker.compose.project`,
`com.docker.compose.service`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker  # only a client's type: the SDK loads with the client (engine.py)

PROJECT, SERVICE = "com.docker.compose.project", "com.docker.compose.service"
COMMANDS = {"up": ["up", "-d"], "down": ["down"], "pull": ["pull"], "restart": ["restart"]}
OUTPUT_TAIL = 4000


class StackError(Exception):
    pass


def _docker_compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True,
                              timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def implementation(configured: Sequence[str]) -> list[str]:
    """The compose command line to use; StackError naming what to install when none."""
    if configured:
        if shutil.which(configured[0]) is None:
            raise StackError(f"compose command {configured[0]!r} not found")
        return list(configured)
    if _docker_compose_plugin():
        return ["docker", "compose"]
    for tool in ("podman-compose", "docker-compose"):
        if shutil.which(tool):
            return [tool]
    raise StackError("no compose implementation found: install the Docker CLI's compose "
                     "plugin, podman-compose or docker-compose, or set compose")


def services(file: str) -> dict[str, dict[str, Any]]:
    """The file's services: {name: {"image": ...}}."""
    # PyYAML (~1.7 MB of heap) loads with the first compose file read, which needs an engine
    # that answers: not in an agent whose stacks were never looked at.
    import yaml

    try:
        data = yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise StackError(f"cannot read {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise StackError(f"{file} is not valid YAML: {exc}") from None
    found = data.get("services") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise StackError(f"{file} has no services")
    return {name: {"image": (spec or {}).get("image")} for name, spec in found.items()}


def rows(c: docker.DockerClient, name: str, file: str) -> list[dict[str, Any]]:
    """One row per service in the file or on the engine, with its drift."""
    wanted = services(file)
    running: dict[str, list[Any]] = {}
    for container in c.containers.list(all=True, filters={"label": f"{PROJECT}={name}"}):
        service = (container.labels or {}).get(SERVICE, "?")
        running.setdefault(service, []).append(container)
    out = []
    for service in sorted(set(wanted) | set(running)):
        containers = running.get(service, [])
        image = (wanted.get(service) or {}).get("image")
        states = sorted({ct.status for ct in containers})
        images = sorted({str(ct.attrs.get("Config", {}).get("Image", "")) for ct in containers})
        if service not in wanted:
            drift = "not in the file"
        elif not containers:
            drift = "not created"
        elif image and any(i != image for i in images):
            drift = f"runs {', '.join(images)}, file says {image}"
        elif states != ["running"]:
            drift = f"not running ({', '.join(states)})"
        else:
            drift = "in sync"
        out.append({"stack": name, "service": service, "image": image,
                    "containers": ", ".join(ct.name for ct in containers),
                    "state": ", ".join(states) or None, "drift": drift})
    return out


async def run(command: Sequence[str], file: str, project: str, verb: str,
              env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """`<compose> -f FILE -p PROJECT <verb>`; its exit code and the tail of its output.
    StackError when it fails."""
    argv = [*command, "-f", file, "-p", project, *COMMANDS[verb]]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **env}, cwd=str(Path(file).parent), start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    tail = output.decode(errors="replace")[-OUTPUT_TAIL:]
    if proc.returncode != 0:
        raise StackError(f"{' '.join(argv)} exited with {proc.returncode}: {tail}")
    return {"command": argv, "exit_code": proc.returncode, "output": tail}
