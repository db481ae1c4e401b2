"""A real DNS server for tests: dnsmasq on a loopback port, plus a tiny server of our own
that answers SERVFAIL (dnsmasq cannot) for the zone forwarded to it, and a black hole that
never answers (timeouts). Shared by the domains and zoneedit tests.

Most tests give the plugins resolver addresses and one port, as in production (where it is
53), so their servers share one port on different loopback addresses: 127.0.0.1 for
dnsmasq, others for a black hole or a second dnsmasq with other data. A server may also
listen on ::1 and a port of its own (`free_udp_port(("::1",))`)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
SERVFAIL_ZONE = "broken.test"


def free_udp_port(addresses: Sequence[str] = ("127.0.0.1", "127.0.0.2", "127.0.0.3")) -> int:
    """A port free on every one of `addresses` (IPv4 or IPv6), UDP and TCP."""
    def family(address: str) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in address else socket.AF_INET

    while True:
        with socket.socket(family(addresses[0]), socket.SOCK_DGRAM) as first:
            first.bind((addresses[0], 0))
            port = first.getsockname()[1]
        try:
            for address in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(family(address), kind) as probe:
                        probe.bind((address, port))
        except OSError:
            continue
        return port


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server we started: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class BlackHole:
    """A bound UDP socket that never reads: queries to it time out."""

    def __init__(self, address: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.address = address

    def close(self) -> None:
        self.sock.close()


class ServfailServer:
    """Answers every query with SERVFAIL, as a broken authoritative server would."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(wire)
            answer = dns.message.make_response(query)
            answer.set_rcode(dns.rcode.SERVFAIL)
            self.sock.sendto(answer.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class DnsServer:
    """dnsmasq serving `records` (dnsmasq config lines) under the `.test` zone, where any
    other name gets NXDOMAIN; `hosts` go to an addn-hosts file that `set_hosts` rewrites
    and dnsmasq re-reads on SIGHUP."""

    def __init__(self, workdir: Path, records: Sequence[str] = (),
                 hosts: Mapping[str, Sequence[str]] | None = None,
                 address: str = "127.0.0.1", port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.records = list(records)
        self.hosts_file = workdir / "hosts"
        self.address = address
        self.port = port or free_udp_port()
        self.servfail = ServfailServer()
        self._write_hosts(hosts or {})
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_hosts(self, hosts: Mapping[str, Sequence[str]]) -> None:
        lines = [f"{ip} {name}" for name, ips in hosts.items() for ip in ips]
        self.hosts_file.write_text("\n".join(lines) + "\n")

    def start(self) -> DnsServer:
        conf = self.workdir / "dnsmasq.conf"
        conf.write_text("\n".join([
            "no-resolv", "no-hosts", "bind-interfaces", f"listen-address={self.address}",
            f"port={self.port}", "user=root", "pid-file=", "local-ttl=1",
            f"addn-hosts={self.hosts_file}", "local=/test/",
            f"server=/{SERVFAIL_ZONE}/127.0.0.1#{self.servfail.port}",
            *self.records, ""]))
        self.proc = subprocess.Popen(
            [DNSMASQ, "--no-daemon", f"--conf-file={conf}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(Exception):
                dns.query.udp(dns.message.make_query("probe.test", "A"), self.address,
                              timeout=0.2, port=self.port)
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"dnsmasq did not start: {err}")
            time.sleep(0.05)

    def query(self, name: str, rdtype: str = "A") -> set[str]:
        answer = dns.query.udp(dns.message.make_query(name, rdtype), self.address, timeout=2,
                               port=self.port)
        return {r.to_text() for rrset in answer.answer for r in rrset
                if rrset.rdtype == dns.rdatatype.from_text(rdtype)}

    def set_hosts(self, hosts: Mapping[str, Sequence[str]]) -> None:
        """Serve these addresses from now on (as a zone edit would)."""
        self._write_hosts(hosts)
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        name, ips = next(iter(hosts.items()))
        want = {"A": {ip for ip in ips if ":" not in ip}, "AAAA": {ip for ip in ips if ":" in ip}}
        while any(self.query(name, kind) != found for kind, found in want.items() if found):
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq did not re-read its hosts file")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
        self.servfail.close()


@contextlib.contextmanager
def running(workdir: Path, records: Sequence[str] = (),
            hosts: Mapping[str, Sequence[str]] | None = None, address: str = "127.0.0.1",
            port: int | None = None) -> Iterator[DnsServer]:
    server = DnsServer(workdir, records, hosts, address, port).start()
    try:
        yield server
    finally:
        server.stop()
