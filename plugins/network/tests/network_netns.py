"""A second host for the network tests: a network namespace joined to ours by a veth pair.

Our end of the pair carries `host_ip` (a LAN address of this host, as a NIC's would be);
the namespace's end carries `peer_ip`, a machine on that LAN. `spare_ip` is in the same
subnet with nobody behind it. The addresses come from 198.18.0.0/15 (RFC 2544, never
routed), a /24 no interface of this host uses yet, so tests running at once do not clash.

Creating it needs root and iproute2 (scripts/system-deps.sh): where it cannot be created
the test fails with the reason, never skips, since "exposed" versus "local" cannot be
told apart without a second host."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass

import pytest


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=30)


def _free_subnet() -> str:
    used = _ip("-4", "-o", "addr", "show").stdout
    while True:
        prefix = f"198.{random.randint(18, 19)}.{random.randint(0, 255)}"
        if f" {prefix}." not in used:
            return prefix


@dataclass
class Netns:
    name: str
    host_if: str
    peer_if: str
    host_ip: str
    peer_ip: str
    spare_ip: str

    def exec(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (the other host)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True,
                              text=True, timeout=timeout)

    def python(self, code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return self.exec(sys.executable, "-c", code, timeout=timeout)

    def connects(self, address: str, port: int) -> bool:
        """Whether a TCP connection from the other host to address:port is accepted."""
        done = self.python("import socket, sys\n"
                           "try:\n"
                           f"    socket.create_connection(({address!r}, {port}), 3).close()\n"
                           "except OSError as exc:\n"
                           "    sys.exit(f'{type(exc).__name__}: {exc}')\n")
        return done.returncode == 0

    def peer_link(self, state: str) -> None:
        """Take the other host's end of the pair "down" or bring it "up"."""
        _ip("-n", self.name, "link", "set", self.peer_if, state)

    def speed_mbps(self) -> int:
        """What the kernel says of our end's speed (/sys/class/net/<if>/speed)."""
        with open(f"/sys/class/net/{self.host_if}/speed", encoding="ascii") as f:
            return int(f.read())

    def delete(self) -> None:
        _ip("link", "del", self.host_if, check=False)
        _ip("netns", "del", self.name, check=False)


def create() -> Netns:
    tag = f"{os.getpid() % 100000}{random.randint(0, 99):02d}"
    prefix = _free_subnet()
    ns = Netns(name=f"nebula-net-{tag}", host_if=f"nvh{tag}", peer_if=f"nvp{tag}",
               host_ip=f"{prefix}.1", peer_ip=f"{prefix}.2", spare_ip=f"{prefix}.3")
    steps = [
        ("netns", "add", ns.name),
        ("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.peer_if),
        ("link", "set", ns.peer_if, "netns", ns.name),
        ("addr", "add", f"{ns.host_ip}/24", "dev", ns.host_if),
        ("link", "set", ns.host_if, "up"),
        ("-n", ns.name, "addr", "add", f"{ns.peer_ip}/24", "dev", ns.peer_if),
        ("-n", ns.name, "link", "set", ns.peer_if, "up"),
        ("-n", ns.name, "link", "set", "lo", "up"),
        ("-n", ns.name, "route", "add", "default", "via", ns.host_ip),
    ]
    for step in steps:
        try:
            _ip(*step)
        except (OSError, subprocess.CalledProcessError) as exc:
            ns.delete()
            detail = getattr(exc, "stderr", "") or exc
            pytest.fail(f"cannot create the test's network namespace (ip {' '.join(step)}): "
                        f"{detail}; these tests need root and iproute2 "
                        f"(scripts/system-deps.sh)", pytrace=False)
    return ns
