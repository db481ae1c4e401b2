"""The way out: DNS resolution latency per resolver and whether the default gateway answers.

DNS goes through dnspython's asyncio client (never a thread); the ICMP echo, a blocking
socket read with a deadline, runs in a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from nebula.helpers.nameservers import Nameserver

ROUTE = "/proc/net/route"
RESOLV_CONF = "/etc/resolv.conf"
RTF_UP, RTF_GATEWAY = 0x1, 0x2
ICMP_ECHO, ICMP_ECHO_REPLY = 8, 0


@dataclass(frozen=True)
class DnsProbe:
    resolver: str
    ms: float | None      # None: no answer
    rcode: str | None     # the answer's code (NOERROR, NXDOMAIN, SERVFAIL, ...)
    error: str | None

    def row(self) -> dict[str, Any]:
        return {"resolver": self.resolver, "ms": self.ms, "rcode": self.rcode,
                "error": self.error}


async def dns_latency(server: Nameserver, name: str, timeout: float) -> DnsProbe:
    """Time to an answer for `name` (A) from `server` over UDP. Any answer counts as the
    resolver answering; the rcode tells whether it could resolve."""
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode

    query = dns.message.make_query(name, "A")
    start = time.perf_counter()
    try:
        answer = await dns.asyncquery.udp(query, server.address, timeout=timeout,
                                          port=server.port)
    except dns.exception.Timeout:
        return DnsProbe(server.label, None, None, f"no answer in {timeout:g} s")
    except (OSError, dns.exception.DNSException) as exc:
        return DnsProbe(server.label, None, None, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - start) * 1000
    return DnsProbe(server.label, round(ms, 2), dns.rcode.to_text(answer.rcode()), None)


def system_resolvers(path: str = RESOLV_CONF) -> list[str]:
    """The host's own resolvers: the `nameserver` lines of resolv.conf."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [parts[1] for line in lines
            if len(parts := line.split()) >= 2 and parts[0] == "nameserver"]


def default_gateway(path: str = ROUTE) -> tuple[str, str] | None:
    """(interface, IPv4 gateway) of the default route in the kernel's routing table."""
    try:
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    best: tuple[int, str, str] | None = None
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or cols[1] != "00000000" or cols[7] != "00000000":
            continue
        flags = int(cols[3], 16)
        if flags & RTF_UP and flags & RTF_GATEWAY:
            metric = int(cols[6])
            gateway = socket.inet_ntop(socket.AF_INET, struct.pack("=I", int(cols[2], 16)))
            if best is None or metric < best[0]:
                best = (metric, cols[0], gateway)
    return (best[1], best[2]) if best else None


@dataclass(frozen=True)
class Reach:
    address: str
    method: str           # "icmp" or "tcp/<port>"
    reachable: bool
    ms: float | None
    detail: str


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _icmp_socket() -> tuple[socket.socket, bool]:
    """An ICMP socket: the unprivileged "ping" kind where net.ipv4.ping_group_range allows
    it, else a raw one (root or CAP_NET_RAW). PermissionError when neither is allowed."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP), False
    except PermissionError:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), True


def icmp_echo(address: str, timeout: float) -> float | None:
    """Round trip of one ICMP echo in ms, None without a reply in `timeout` (blocking).
    PermissionError when this process may not send ICMP at all."""
    sock, raw = _icmp_socket()
    with sock:
        ident, seq = os.getpid() & 0xFFFF, int(time.monotonic() * 1000) & 0xFFFF
        payload = b"nebula-network"
        header = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
        packet = struct.pack("!BBHHH", ICMP_ECHO, 0, _checksum(header + payload), ident,
                             seq) + payload
        start = time.perf_counter()
        deadline = start + timeout
        sock.sendto(packet, (address, 0))
        while (left := deadline - time.perf_counter()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                return None
            if raw:  # a raw socket hands over every ICMP packet, IP header first
                data = data[(data[0] & 0x0F) * 4:]
            if len(data) < 8 or peer[0] != address:
                continue
            kind, _, _, got_id, got_seq = struct.unpack("!BBHHH", data[:8])
            # The ping kind of socket rewrites the id to its own port; match the sequence.
            if kind == ICMP_ECHO_REPLY and got_seq == seq and (not raw or got_id == ident):
                return (time.perf_counter() - start) * 1000
        return None


async def tcp_reach(address: str, port: int, timeout: float) -> Reach:
    """A TCP connection attempt. A refusal is an answer too: the host is up and sent RST."""
    method = f"tcp/{port}"
    start = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except ConnectionRefusedError:
        ms = (time.perf_counter() - start) * 1000
        return Reach(address, method, True, round(ms, 2), f"port {port} refused (host up)")
    except (asyncio.TimeoutError, TimeoutError):
        return Reach(address, method, False, None, f"no answer on port {port} in "
                                                   f"{timeout:g} s")
    except OSError as exc:
        why = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
        return Reach(address, method, False, None, f"{why}: {exc.strerror or exc}")
    ms = (time.perf_counter() - start) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Reach(address, method, True, round(ms, 2), f"port {port} accepted")


async def reach(address: str, method: str, port: int, timeout: float) -> Reach:
    """`method` "icmp", "tcp" or "auto": ICMP first, and TCP when this process may not send
    ICMP or no echo reply came (a firewall that drops pings on a gateway that is up)."""
    if method == "tcp":
        return await tcp_reach(address, port, timeout)
    try:
        ms = await asyncio.to_thread(icmp_echo, address, timeout)
    except PermissionError:
        icmp = Reach(address, "icmp", False, None,
                     "ICMP not allowed for the agent (needs CAP_NET_RAW or "
                     "net.ipv4.ping_group_range)")
    except OSError as exc:
        icmp = Reach(address, "icmp", False, None, f"{type(exc).__name__}: {exc}")
    else:
        icmp = (Reach(address, "icmp", True, round(ms, 2), "echo reply") if ms is not None
                else Reach(address, "icmp", False, None, f"no echo reply in {timeout:g} s"))
    if icmp.reachable or method == "icmp":
        return icmp
    tcp = await tcp_reach(address, port, timeout)
    return Reach(tcp.address, tcp.method, tcp.reachable, tcp.ms,
                 f"{icmp.detail}; {tcp.detail}")
