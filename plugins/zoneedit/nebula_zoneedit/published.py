"""What DNS serves for our hosts now: the side of the comparison the echo services are not."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

RDTYPE = {4: "A", 6: "AAAA"}


@dataclass(frozen=True)
class Published:
    """Each resolver's answer: the addresses it served, or why it served none."""

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
        return "; ".join(
            f"{where}: {', '.join(sorted(ips)) or 'no record'}" if ips is not None
            else f"{where}: {error}"
            for where, ips, error in self.answers)


async def _ask(spec: str, port: int, host: str, family: int,
               timeout: float) -> tuple[str, frozenset[str] | None, str | None]:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [spec]
    resolver.port = port
    try:
        answer = await resolver.resolve(host, RDTYPE[family], lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return spec, frozenset(), None
    except dns.exception.Timeout:
        return spec, None, f"no answer within {timeout:g}s"
    except dns.exception.DNSException as exc:
        return spec, None, f"{type(exc).__name__}: {exc}"
    return spec, frozenset(r.address for r in answer), None


async def lookup(host: str, family: int, resolvers: Sequence[str], port: int,
                 timeout: float) -> Published:
    found = await asyncio.gather(*(_ask(spec, port, host, family, timeout)
                                   for spec in resolvers))
    return Published(tuple(found))
