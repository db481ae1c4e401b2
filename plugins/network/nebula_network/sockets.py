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

PROC = "/proc"
TABLES = (("tcp", socket.AF_INET, "tcp"), ("tcp6", socket.AF_INET6, "tcp"),
          ("udp", socket.AF_INET, "udp"), ("udp6", socket.AF_INET6, "udp"))

# include/net/tcp_states.h
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}

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
    first_seen: dict[int, float] = field(default_factory=dict)  # listener inode → epoch
    states: Counter[str] = field(default_factory=Counter)    # TCP connections by state
    # Connections per remote address, keyed as the kernel prints it (hex): decoding every
    # row's address cost more than the rest of the reading, so only the top ones are.
    raw_peers: Counter[bytes] = field(default_factory=Counter)
    udp_connected: int = 0
    total: int = 0
    seconds: float = 0.0   # how long the reading took

    @property
    def peer_count(self) -> int:
        return len(self.raw_peers)

    def top_peers(self, n: int) -> list[tuple[str, int]]:
        """The `n` remote addresses with the most connections, most first."""
        return [(decode_address(raw), count) for raw, count in self.raw_peers.most_common(n)]


def scope(address: str) -> str:
    """"loopback", "all" (the wildcard address) or "lan" (one specific other address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "all"
    return "loopback" if ip.is_loopback else "lan"


def decode_address(hex_address: bytes | str) -> str:
    """`0100007F` → "127.0.0.1". The kernel prints each 32-bit word of an address as a
    number in host byte order."""
    text = hex_address.decode() if isinstance(hex_address, bytes) else hex_address
    if len(text) == 8:
        return socket.inet_ntop(socket.AF_INET, struct.pack("=I", int(text, 16)))
    words = [int(text[i:i + 8], 16) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words))


def decode(hex_endpoint: bytes | str) -> tuple[str, int]:
    """`0100007F:0035` → ("127.0.0.1", 53); the port is printed in network order."""
    text = hex_endpoint.decode() if isinstance(hex_endpoint, bytes) else hex_endpoint
    address, _, port = text.partition(":")
    return decode_address(address), int(port, 16)


def _rows(path: str) -> list[list[bytes]]:
    """The table's rows cut into (slot, local, remote, state, rest). Read in one go, as
    bytes: the kernel writes these tables slowly, and text decoding doubles the cost."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:  # a kernel without IPv6 has no tcp6/udp6
        return []
    return [line.split(None, 4) for line in data.splitlines()[1:]]


def _listener(row: list[bytes], proto: str, family: int) -> Listener:
    address, port = decode(row[1])
    # rest: tx:rx queue, tr:when, retrnsmt, uid, timeout, inode, ...
    return Listener(proto, family, address, port, int(row[4].split(None, 6)[5]))


TCP_LISTEN = b"0A"
# A UDP socket without a peer (TCP_CLOSE): it takes datagrams from anyone.
UDP_UNCONNECTED_HEX = b"07"
_STATE_NAMES = {f"{n:02X}".encode(): name for n, name in TCP_STATES.items()}


def read_table(proc: str = PROC) -> SocketTable:
    """Every TCP and UDP socket of `proc`'s network namespace (blocking), without owners.

    Counting runs in C (Counter over generators); only listeners are decoded one by one."""
    table = SocketTable(taken=time.time())
    net = f"{proc}/net"
    for name, family, proto in TABLES:
        rows = _rows(f"{net}/{name}")
        table.total += len(rows)
        wanted = TCP_LISTEN if proto == "tcp" else UDP_UNCONNECTED_HEX
        table.listeners += [_listener(r, proto, family) for r in rows if r[3] == wanted]
        others = [r for r in rows if r[3] != wanted]
        # The remote address without its port (":PPPP", the last 5 characters).
        table.raw_peers.update(r[2][:-5] for r in others)
        if proto == "tcp":
            for state, n in Counter(r[3] for r in others).items():
                table.states[_STATE_NAMES.get(state, state.decode())] += n
        else:
            table.udp_connected += len(others)
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
    # Oldest first, so a socket that forked workers share (nginx, gunicorn) is named after
    # the parent; that makes a new process's listener the walk's worst case.
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
        self._first_seen: dict[int, float] = {}  # listener inode → when a reading found it
        self._lock = threading.Lock()

    def read(self) -> SocketTable:
        with self._lock:
            start = time.perf_counter()
            table = read_table(self._proc)
            live = {listener.inode for listener in table.listeners}
            # Forget sockets that closed (an inode number can come back for a new socket).
            self._owners = {i: o for i, o in self._owners.items() if i in live}
            self._unowned = {i: t for i, t in self._unowned.items() if i in live}
            self._first_seen = {i: self._first_seen.get(i, table.taken) for i in live}
            now = time.monotonic()
            missing = {i for i in live if i and i not in self._owners
                       and now - self._unowned.get(i, -UNOWNED_RETRY) >= UNOWNED_RETRY}
            if missing:
                found = find_owners(missing, self._proc)
                self._owners.update(found)
                for inode in missing - found.keys():
                    self._unowned[inode] = now
            table.owners = {i: self._owners.get(i, NO_OWNER) for i in live}
            table.first_seen = dict(self._first_seen)
            table.seconds = time.perf_counter() - start
            return table
