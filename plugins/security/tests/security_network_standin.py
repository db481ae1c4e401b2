"""A test-only stand-in for the network plugin's `network.listeners` (issue 22), with the
same row shape: `{proto, address, port, scope, pid, process, cmdline, container,
expected}`. Its rows are this machine's real listening sockets (psutil), so a test binds a
real socket and the security plugin judges it; only the owner lookup is the stand-in's.
test_security_network.py runs the real network plugin."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import psutil

from nebula.api import Action, Manifest, hookimpl


def scope(address: str) -> str:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_loopback:
        return "loopback"
    return "all" if ip.is_unspecified else "lan"


def listeners(expected: Iterable[int], pid: int | None) -> list[dict[str, Any]]:
    wanted = set(expected)
    rows = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr:
            continue
        if pid is not None and conn.pid != pid:
            continue
        try:
            proc = psutil.Process(conn.pid) if conn.pid else None
            name, cmdline = (proc.name(), " ".join(proc.cmdline())) if proc else ("", "")
        except psutil.Error:
            name, cmdline = "", ""
        rows.append({"proto": "tcp", "address": conn.laddr.ip, "port": conn.laddr.port,
                     "scope": scope(conn.laddr.ip), "pid": conn.pid, "process": name,
                     "cmdline": cmdline, "container": None,
                     "expected": conn.laddr.port in wanted})
    return rows


class NetworkStandIn:
    manifest = Manifest(api_version="1.2", description="network.listeners stand-in")

    def __init__(self, expected: Iterable[int] = (), pid: int | None = None) -> None:
        """`pid`: only that process's listeners (the test's own: the machine is shared,
        and other people's servers would use up the points)."""
        self.expected = list(expected)
        self.pid = pid
        self.calls = 0

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        async def run(_params: Mapping[str, Any]) -> list[dict[str, Any]]:
            self.calls += 1
            # psutil walks /proc for every socket: a worker thread, as the real plugin must.
            return await asyncio.to_thread(listeners, self.expected, self.pid)

        return [Action("listeners", run, "Listening sockets", read_only=True,
                       params={"type": "object", "additionalProperties": False,
                               "properties": {}})]
