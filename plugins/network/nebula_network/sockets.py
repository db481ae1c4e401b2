"""Sockets from the kernel's own tables: /proc/net/{tcp,tcp6,udp,udp6} for every socket of
the agent's network namespace, and /proc/<pid>/fd for which process owns a listener.

Why not `psutil.net_connections`: it maps every socket of every process to its owner on each
call (a readlink per open descriptor of every process), which is what makes it slow with
thousands of sockets. Only listeners need an owner here; connections are counted by state and
peer. Owners are kept by socket inode between readings, and the /proc/*/fd walk runs only
when a listener appears whose owner is not known yet (stopping once every new one is found).

Blocking: call `SocketReader.read` in a worker thread.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

PROC = "/proc"
TABLES = (("tcp", socket.AF_INET, "tcp"), ("tcp6", socket.AF_INET6, "tcp"),
          ("udp", socket.AF_INET, "udp"), ("udp6", socket.AF_INET6, "udp"))

# include/net/tcp_states.h
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}
LISTEN = 10
UDP_UNCONNECTED = 7  # a UDP socket without a peer (TCP_CLOSE): it takes datagrams from anyone

# An inode whose owner the /proc walk did not find (a socket of a process we may not read,
# or one the kernel holds) is looked for again only after this long.
UNOWNED_RETRY = 60.0

# docker: ".../docker-<id>.scope" or "/docker/<id>"; podman: "libpod-<id>.scope"; containerd
# and CRI-O (kubepods): "cri-containerd-<id>.scope", "crio-<id>.scope".
_CONTAINER = re.compile(r"(?:docker|libpod|cri-containerd|crio)[-/]([0-9a-f]{64})")


@dataclass(frozen=True)
class Owner:
    pid: int | None
    process: str
    cmdline: str
    container: str | None = None


NO_OWNER = Owner(None, "", "")


@dataclass(frozen=True)
class Listener:
    proto: str      # "tcp" or "udp"
    family: int     # socket.AF_INET or AF_INET6
    address: str
    port: int
    inode: int


@dataclass
class SocketTable:
    """One reading of the namespace's sockets."""

    taken: float
    listeners: list[Listener] = field(default_factory=list)
    owners: dict[int, Owner] = field(default_factory=dict)   # by inode
    states: Counter[str] = field(default_factory=Counter)    # TCP connections by state
    peers: Counter[str] = field(default_factory=Counter)     # remote address → connections
    udp_connected: int = 0
    total: int = 0
    seconds: float = 0.0   # how long the reading took


def scope(address: str) -> str:
    """"loopback", "all" (the wildcard address) or "lan" (one specific other address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "all"
    return "loopback" if ip.is_loopback else "lan"


@lru_cache(maxsize=8192)
def decode(hex_address: str) -> tuple[str, int]:
    """`0100007F:0035` → ("127.0.0.1", 53). The kernel prints each 32-bit word of the
    address as a number in host byte order, the port in network order."""
    addr, _, port = hex_address.partition(":")
    if len(addr) == 8:
        packed = struct.pack("=I", int(addr, 16))
        return socket.inet_ntop(socket.AF_INET, packed), int(port, 16)
    words = [int(addr[i:i + 8], 16) for i in range(0, 32, 8)]
    ip = socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words))
    return ip, int(port, 16)


def _rows(path: str) -> Iterator[list[str]]:
    try:
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:  # a kernel without IPv6 has no tcp6/udp6
        return
    for line in lines[1:]:
        yield line.split()


def read_table(proc: str = PROC) -> SocketTable:
    """Every TCP and UDP socket of `proc`'s network namespace (blocking), without owners."""
    table = SocketTable(taken=time.time())
    net = f"{proc}/net"
    for name, family, proto in TABLES:
        for cols in _rows(f"{net}/{name}"):
            table.total += 1
            state = int(cols[3], 16)
            if proto == "tcp":
                if state == LISTEN:
                    address, port = decode(cols[1])
                    table.listeners.append(Listener(proto, family, address, port,
                                                    int(cols[9])))
                    continue
                table.states[TCP_STATES.get(state, str(state))] += 1
                table.peers[decode(cols[2])[0]] += 1
            elif state == UDP_UNCONNECTED:
                address, port = decode(cols[1])
                table.listeners.append(Listener(proto, family, address, port, int(cols[9])))
            else:
                table.udp_connected += 1
                table.peers[decode(cols[2])[0]] += 1
    return table


def _read(path: str, limit: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return b""


def owner_of(pid: int, proc: str = PROC) -> Owner:
    """Name, command line and container of `pid` (empty where /proc hides them)."""
    comm = _read(f"{proc}/{pid}/comm").decode(errors="replace").strip()
    cmdline = _read(f"{proc}/{pid}/cmdline").replace(b"\0", b" ").decode(
        errors="replace").strip()
    found = _CONTAINER.search(_read(f"{proc}/{pid}/cgroup", 16384).decode(errors="replace"))
    return Owner(pid, comm, cmdline, found.group(1)[:12] if found else None)


def _socket_inodes(pid_dir: str) -> Iterator[int]:
    try:
        entries = os.scandir(f"{pid_dir}/fd")
    except OSError:  # gone, or not ours to read
        return
    with entries:
        for entry in entries:
            try:
                target = os.readlink(entry.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                yield int(target[8:-1])


def find_owners(inodes: Iterable[int], proc: str = PROC) -> dict[int, Owner]:
    """The processes holding these socket inodes: a walk of /proc/*/fd that stops once
    every one is found. A socket shared by several processes (a forking server) is named
    after the lowest pid, normally the parent that opened it."""
    wanted = set(inodes)
    found: dict[int, Owner] = {}
    pids = sorted(int(n) for n in os.listdir(proc) if n.isdigit())
    for pid in pids:
        if not wanted:
            break
        hits = wanted.intersection(_socket_inodes(f"{proc}/{pid}"))
        if hits:
            owner = owner_of(pid, proc)
            for inode in hits:
                found[inode] = owner
            wanted -= hits
    return found


class SocketReader:
    """Reads the socket table and keeps listener owners between readings."""

    def __init__(self, proc: str = PROC) -> None:
        self._proc = proc
        self._owners: dict[int, Owner] = {}
        self._unowned: dict[int, float] = {}  # inode → when the walk last missed it
        self._lock = threading.Lock()

    def read(self) -> SocketTable:
        with self._lock:
            start = time.perf_counter()
            table = read_table(self._proc)
            live = {listener.inode for listener in table.listeners}
            # Forget sockets that closed (an inode number can come back for a new socket).
            self._owners = {i: o for i, o in self._owners.items() if i in live}
            self._unowned = {i: t for i, t in self._unowned.items() if i in live}
            now = time.monotonic()
            missing = {i for i in live if i and i not in self._owners
                       and now - self._unowned.get(i, -UNOWNED_RETRY) >= UNOWNED_RETRY}
            if missing:
                found = find_owners(missing, self._proc)
                self._owners.update(found)
                for inode in missing - found.keys():
                    self._unowned[inode] = now
            table.owners = {i: self._owners.get(i, NO_OWNER) for i in live}
            table.seconds = time.perf_counter() - start
            return table
