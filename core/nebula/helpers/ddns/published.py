"""What DNS serves for our hosts now: the side of the comparison the echo services are not.

dnspython's resolver (~2.4 MB resident, ~30 ms to import) loads with the first lookup, which
the first sync makes after the agent is ready, not while it starts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from nebula.helpers.nameservers import Nameserver

RDTYPE = {4: "A", 6: "AAAA"}


@dataclass(frozen=True)
class Published:
    """Each resolver's answer: the addresses it served, or why it served none."""

    rdtype: str
    answers: tuple[tuple[str, frozenset[str] | None, str | None], ...]

    @property
    def readable(self) -> bool:
        return any(ips is not None for _, ips, _ in self.answers)

    def matches(self, ip: str) -> bool:
        """Every resolver that answered serves exactly `ip` (one that timed out says
        nothing either way)."""
        served = [ips for _, ips, _ in self.answers if ips is not None]
        return bool(served) and all(ips == frozenset({ip}) for ips in served)

    def describe(self) -> str:
        """Each resolver's answer as a sentence about that resolver ("127.0.0.1 serves
        198.51.100.1", "127.0.0.1 has no A record"), so no address reads as served that
        is not."""
        return ", ".join(
            f"{where} {self._served(ips)}" if ips is not None else f"{where} {error}"
            for where, ips, error in self.answers)

    def _served(self, ips: frozenset[str]) -> str:
        return f"serves {' and '.join(sorted(ips))}" if ips else f"has no {self.rdtype} record"


async def _ask(server: Nameserver, host: str, rdtype: str,
               timeout: float) -> tuple[str, frozenset[str] | None, str | None]:
    import dns.asyncresolver
    import dns.exception
    import dns.nameserver
    import dns.resolver

    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(server.address, server.port)]
    try:
        answer = await resolver.resolve(host, rdtype, lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return server.label, frozenset(), None
    except dns.exception.Timeout:
        return server.label, None, f"did not answer within {timeout:g}s"
    except dns.exception.DNSException as exc:
        return server.label, None, f"failed: {type(exc).__name__}: {exc}"
    return server.label, frozenset(r.address for r in answer), None


async def lookup(host: str, family: int, resolvers: Sequence[Nameserver],
                 timeout: float) -> Published:
    found = await asyncio.gather(*(_ask(server, host, RDTYPE[family], timeout)
                                   for server in resolvers))
    return Published(RDTYPE[family], tuple(found))
