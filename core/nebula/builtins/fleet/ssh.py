"""Agentless hosts: a NAS or a router that cannot run the agent, read over SSH (asyncssh).

Read-only by construction: the hub runs one fixed command made of standard tools (`cat`
of /proc files, `df`), never anything from a request, and offers no action on such a host.
The host key is pinned in the config (`host_key`, as `ssh-keyscan` prints it): a host
answering with another key is refused before anything is sent; there is no
trust-on-first-use. The results become checks like an agent's: reachable, disk, memory,
load, so the overview and the cross-host views show the host like the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from nebula.builtins.fleet.poller import HostView, describe
from nebula.logs import get_logger
from nebula.secrets import SECRETS

log = get_logger(component="fleet")
# One command, fixed: what it prints is parsed below, section by section.
COMMAND = ("cat /proc/uptime; echo --; cat /proc/loadavg; echo --; df -Pk /; echo --; "
           "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo; echo --; nproc")
DISK_WARNING, DISK_CRITICAL = 90.0, 95.0
# Only the SSH hosts need it: agents enrolled with the hub go on without it.
SSH_MISSING = ("agentless hosts need the asyncssh package, which is not installed: "
               "pip install 'nebula-command[fleet]'")


class MissingExtra(RuntimeError):
    pass
MEMORY_WARNING = 90.0


def parse(text: str) -> dict[str, float]:
    """The numbers in COMMAND's output (ValueError if it is not what it prints)."""
    parts = [p.strip() for p in text.split("--")]
    if len(parts) != 5:
        raise ValueError(f"unexpected output ({len(parts)} sections)")
    uptime = float(parts[0].split()[0])
    load = [float(x) for x in parts[1].split()[:3]]
    df = parts[2].splitlines()[-1].split()
    size, used = float(df[1]), float(df[2])
    mem = {line.split(":")[0]: float(line.split()[1]) for line in parts[3].splitlines()}
    return {"uptime_s": uptime, "load1": load[0], "load5": load[1], "load15": load[2],
            "disk_percent": round(100 * used / size, 1) if size else 0.0,
            "memory_percent": round(100 * (1 - mem["MemAvailable"] / mem["MemTotal"]), 1),
            "cpus": float(parts[4].split()[0])}


def _level(value: float, warning: float, critical: float) -> str:
    return "critical" if value >= critical else "warning" if value >= warning else "ok"


def checks(numbers: dict[str, float]) -> list[dict[str, Any]]:
    days = numbers["uptime_s"] / 86400
    return [
        {"name": "ssh.reachable", "status": "ok", "summary": f"up {days:.1f} days",
         "metrics": {"uptime_s": numbers["uptime_s"]}},
        {"name": "ssh.disk", "status": _level(numbers["disk_percent"], DISK_WARNING,
                                                DISK_CRITICAL),
         "summary": f"/ {numbers['disk_percent']}% used",
         "metrics": {"percent": numbers["disk_percent"]}},
        {"name": "ssh.memory", "status": _level(numbers["memory_percent"], MEMORY_WARNING,
                                                  101.0),
         "summary": f"{numbers['memory_percent']}% used",
         "metrics": {"percent": numbers["memory_percent"]}},
        {"name": "ssh.load", "status": _level(numbers["load5"] / max(numbers["cpus"], 1),
                                                2.0, 4.0),
         "summary": f"load {numbers['load1']} {numbers['load5']} {numbers['load15']}",
         "metrics": {"load1": numbers["load1"], "load5": numbers["load5"]}},
    ]


class SshHost:
    """Polls one agentless host; shaped like HostPoller where the hub reads it."""

    read_only = True

    def __init__(self, spec: dict[str, Any], settings: dict[str, Any]) -> None:
        self.spec = spec
        self.interval = float(spec.get("interval") or settings["poll_interval"])
        self.max_backoff = float(settings["max_backoff"])
        self.timeout = float(settings["timeout"])
        self.view = HostView()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def url(self) -> str:
        return f"ssh://{self.spec['user']}@{self.spec['host']}:{self.spec['port']}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"fleet-ssh-{self.name}")

    async def stop(self, revoked: bool = False) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def poll_soon(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.view.failures += 1
                self.view.error = (str(exc) if isinstance(exc, MissingExtra)
                                   else SECRETS.redact(describe(exc)))
                if self.view.state != "down":
                    log.warning("fleet.ssh_down", host=self.name, error=self.view.error)
                self.view.state = "down"
            wait = self.interval if not self.view.failures else min(
                self.max_backoff, self.interval * 2 ** (self.view.failures - 1))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def poll(self) -> None:
        numbers = parse(await asyncio.wait_for(self._run(), self.timeout * 2))
        self.view = HostView("up", "", time.time(), {"version": "ssh", **numbers},
                             checks(numbers), [], 0)

    async def _run(self) -> str:
        try:
            import asyncssh
        except ImportError:
            raise MissingExtra(SSH_MISSING) from None

        spec = self.spec
        host, port = spec["host"], int(spec["port"])
        pattern = host if port == 22 else f"[{host}]:{port}"
        # The pinned key is the only one trusted for this host: no known_hosts file, no
        # agent, no ~/.ssh/config of whoever runs the hub.
        known = asyncssh.import_known_hosts(f"{pattern} {spec['host_key']}\n")
        async with asyncssh.connect(
                host, port, username=spec["user"],
                client_keys=[asyncssh.import_private_key(spec["key"])],
                known_hosts=known, agent_path=None, config=None,
                connect_timeout=self.timeout) as conn:
            result = await conn.run(COMMAND, check=True, timeout=self.timeout)
        return str(result.stdout)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for check in self.view.checks:
            counts[check["status"]] = counts.get(check["status"], 0) + 1
        return {"name": self.name, "url": self.url, "kind": "ssh", "state": self.view.state,
                "error": self.view.error, "last_seen": self.view.last_seen,
                "version": "ssh (agentless)", "checks": counts, "pending_approvals": 0,
                "enrolled": None}
