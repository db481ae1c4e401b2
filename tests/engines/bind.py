"""A real BIND 9 (`named`, Debian `bind9`) on a loopback port, for the dynamic-DNS tests and
bench: primary zones the test writes, TSIG keys it makes, and per zone who may update.

    with running(tmp, zones={"home.test": {"gw": ["198.51.100.1"]}},
                 keys={"ddns-key": secret}, updaters={"home.test": ["ddns-key"]}) as bind:
        bind.query("gw.home.test")          # {"198.51.100.1"}
        await bind.publish("home.test", "gw.home.test", "A", ["203.0.113.7"])

A zone without an entry in `updaters` allows no update at all (`allow-update { none; }`):
an update signed with a valid key is REFUSED there, as at a server that does not grant the
key that zone. The server's own `ADMIN_KEY` may update every other zone: stand-ins of
providers (Cloudflare, DuckDNS) publish what they are told through it, and tests reset
records with it."""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update

from tests.engines.dnsmasq import free_udp_port, terminate

NAMED = shutil.which("named") or "/usr/sbin/named"
ALGORITHM = "hmac-sha256"
ADMIN_KEY = "bind-admin"

Zone = Mapping[str, Sequence[str]]  # relative name ("@" for the apex) -> addresses


def new_secret() -> str:
    """A TSIG secret as BIND's `tsig-keygen` writes it: 32 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _zone_file(origin: str, records: Zone) -> str:
    lines = [f"$ORIGIN {origin}.", "$TTL 60",
             f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 1",
             "@ IN NS ns", "ns IN A 127.0.0.1"]
    for name, ips in records.items():
        lines += [f"{name} IN {'AAAA' if ':' in ip else 'A'} {ip}" for ip in ips]
    return "\n".join(lines) + "\n"


class Bind:
    def __init__(self, workdir: Path, zones: Mapping[str, Zone], keys: Mapping[str, str],
                 updaters: Mapping[str, Sequence[str]], port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.zones, self.updaters = dict(zones), dict(updaters)
        self.keys = {**keys, ADMIN_KEY: new_secret()}
        self._admin = dns.tsigkeyring.from_text({ADMIN_KEY: self.keys[ADMIN_KEY]})
        self.address = "127.0.0.1"
        self.port = port or free_udp_port(("127.0.0.1",))
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        parts = [f"""options {{
    directory "{self.workdir}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    pid-file none;
    session-keyfile none;
    recursion no;
    notify no;
    dnssec-validation no;
    allow-query {{ any; }};
}};
controls {{ }};
logging {{ category default {{ default_stderr; }}; category update {{ default_stderr; }};
          category update-security {{ default_stderr; }}; }};"""]
        for name, secret in self.keys.items():
            parts.append(f'key "{name}" {{ algorithm {ALGORITHM}; secret "{secret}"; }};')
        for zone, records in self.zones.items():
            (self.workdir / f"{zone}.db").write_text(_zone_file(zone, records))
            grants = "".join(f" grant {key} zonesub A AAAA;"
                             for key in [*self.updaters[zone], ADMIN_KEY]
                             ) if zone in self.updaters else ""
            policy = (f"update-policy {{{grants} }};" if grants else "allow-update { none; };")
            parts.append(f'zone "{zone}" {{ type primary; file "{zone}.db"; {policy} }};')
        return "\n".join(parts) + "\n"

    def start(self) -> Bind:
        conf = self.workdir / "named.conf"
        conf.write_text(self._config())
        check = subprocess.run(["named-checkconf", str(conf)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"named.conf refused: {check.stdout}{check.stderr}")
        self.log = (self.workdir / "named.log").open("wb")
        # -g: foreground, log to stderr; as root named keeps running as root here, which a
        # throwaway server on a loopback port in a temp dir may.
        self.proc = subprocess.Popen([NAMED, "-g", "-c", str(conf), "-n", "1"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        probe = next(iter(self.zones))
        while True:
            with contextlib.suppress(Exception):
                answer = dns.query.udp(dns.message.make_query(probe, "SOA"), self.address,
                                       timeout=0.2, port=self.port)
                if answer.answer:
                    return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"named did not start: {self.output()[-2000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        return (self.workdir / "named.log").read_text(errors="replace")

    def query(self, name: str, rdtype: str = "A") -> set[str]:
        answer = dns.query.udp(dns.message.make_query(name, rdtype), self.address, timeout=2,
                               port=self.port)
        return {r.to_text() for rrset in answer.answer for r in rrset
                if rrset.rdtype == dns.rdatatype.from_text(rdtype)}

    def serial(self, zone: str) -> int:
        """The zone's SOA serial: BIND adds one per update it applies."""
        answer = dns.query.udp(dns.message.make_query(zone, "SOA"), self.address, timeout=2,
                               port=self.port)
        return int(answer.answer[0][0].serial)

    async def publish(self, zone: str, name: str, rdtype: str, values: Sequence[str],
                      ttl: int = 60) -> None:
        """Replace `name`'s `rdtype` set (none: delete it) through an update signed with
        the admin key, as a provider's own backend would."""
        message = dns.update.UpdateMessage(zone, keyring=self._admin, keyname=ADMIN_KEY,
                                           keyalgorithm=ALGORITHM)
        if values:
            message.replace(f"{name}.", ttl, rdtype, *values)
        else:
            message.delete(f"{name}.", rdtype)
        answer = await dns.asyncquery.udp(message, self.address, timeout=5, port=self.port)
        if answer.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"BIND refused {name} {rdtype}: "
                               f"{dns.rcode.to_text(answer.rcode())}")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
        if getattr(self, "log", None):
            self.log.close()


@contextlib.contextmanager
def running(workdir: Path, zones: Mapping[str, Zone], keys: Mapping[str, str] | None = None,
            updaters: Mapping[str, Sequence[str]] | None = None) -> Iterator[Bind]:
    server = Bind(workdir, zones, keys or {}, updaters or {}).start()
    try:
        yield server
    finally:
        server.stop()
