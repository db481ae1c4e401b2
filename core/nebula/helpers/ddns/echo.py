"""Finding the public IP: ask several echo services (and, for IPv6, optionally the host's
own global address), believe them only when they agree."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from nebula.helpers.net import failure_from_exception

IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_RE = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
# Enough for any echo answer; a captive portal's page is cut short instead of read whole.
MAX_BODY = 16384


def _valid(text: str, family: int) -> str | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    return str(ip) if ip.version == family else None


def parse_ip(body: str, family: int) -> str | None:
    """The IP an echo service reported: a bare address, ipify's JSON, Cloudflare's
    `ip=` trace line, or the first address in an HTML page (checkip.dyndns.org)."""
    body = body.strip()
    if ip := _valid(body, family):
        return ip
    if body.startswith("{"):
        try:
            found = json.loads(body).get("ip")
        except (ValueError, AttributeError):
            found = None
        return _valid(found, family) if isinstance(found, str) else None
    if line := re.search(r"^ip=(.+)$", body, re.M):
        return _valid(line.group(1), family)
    for candidate in (IPV4_RE if family == 4 else IPV6_RE).findall(body):
        if ip := _valid(candidate, family):
            return ip
    return None


@dataclass(frozen=True)
class EchoAnswer:
    url: str
    ip: str | None
    error: str | None = None


@dataclass(frozen=True)
class Consensus:
    family: int
    ip: str | None  # set only when the services agree
    answers: tuple[EchoAnswer, ...]
    reason: str

    @property
    def agreed(self) -> bool:
        return self.ip is not None

    def public(self) -> dict[str, object]:
        return {"ip": self.ip, "agreed": self.agreed, "reason": self.reason,
                "answers": [{"url": a.url, "ip": a.ip, "error": a.error}
                            for a in self.answers]}


async def ask(session: aiohttp.ClientSession, url: str, family: int,
              timeout: float) -> EchoAnswer:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            raw = await resp.content.read(MAX_BODY)
            if resp.status != 200:
                return EchoAnswer(url, None, f"HTTP {resp.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        failure = failure_from_exception(exc, url, service="the echo service", timeout=timeout)
        return EchoAnswer(url, None, str(failure))
    ip = parse_ip(raw.decode("utf-8", "replace"), family)
    # A captive portal or error page answers 200 with no address: a failure, never a change.
    return EchoAnswer(url, ip, None if ip else f"no IPv{family} address in the answer")


def agree(answers: Sequence[EchoAnswer], family: int, min_agreeing: int) -> Consensus:
    """An IP only when every service that answered gave the same one, and at least
    `min_agreeing` did."""
    counts = Counter(a.ip for a in answers if a.ip)
    answers = tuple(answers)
    if len(counts) > 1:
        seen = ", ".join(f"{ip} ({n})" for ip, n in counts.most_common())
        return Consensus(family, None, answers, f"echo services disagree: {seen}")
    if not counts:
        return Consensus(family, None, answers,
                         f"no echo service gave an IPv{family} address")
    ip, n = counts.most_common(1)[0]
    if n < min_agreeing:
        return Consensus(family, None, answers,
                         f"only {n} echo service(s) answered {ip}; {min_agreeing} must agree")
    return Consensus(family, ip, answers, f"{n} of {len(answers)} echo services agree")


async def discover(session: aiohttp.ClientSession, urls: Sequence[str], family: int,
                   min_agreeing: int, timeout: float,
                   interface: str | None = None) -> Consensus:
    """The agreed address of `family`; with `interface` (IPv6 only), the host's own global
    address on it is one more voice, under the same rule."""
    answers = list(await asyncio.gather(*(ask(session, url, family, timeout)
                                          for url in urls)))
    if interface and family == 6:
        answers.append(interface_answer(interface))
    return agree(answers, family, min_agreeing)


# /proc/net/if_inet6: address, ifindex, prefix length, scope, flags (hex), interface name.
IF_INET6 = Path("/proc/net/if_inet6")
_SCOPE_GLOBAL = 0x00
_TEMPORARY, _DADFAILED, _DEPRECATED, _TENTATIVE = 0x01, 0x08, 0x20, 0x40


def global_ipv6(interface: str, table: str) -> list[str]:
    """The stable global IPv6 addresses of `interface` ("*": any) in the kernel's
    `/proc/net/if_inet6` table: scope global, usable (not tentative, failed or deprecated),
    publicly routable (no ULA fd00::/8, no documentation prefix), and not a privacy
    (temporary) address, which changes daily and is not what a server listens on."""
    found = []
    for line in table.splitlines():
        parts = line.split()
        if len(parts) != 6 or (interface != "*" and parts[5] != interface):
            continue
        scope, flags = int(parts[3], 16), int(parts[4], 16)
        if scope != _SCOPE_GLOBAL or flags & (_TEMPORARY | _DADFAILED | _DEPRECATED
                                              | _TENTATIVE):
            continue
        ip = ipaddress.IPv6Address(int(parts[0], 16))
        if ip.is_global:
            found.append(str(ip))
    return sorted(set(found))


def interface_answer(interface: str, path: Path = IF_INET6) -> EchoAnswer:
    """The host's global IPv6 address as one answer beside the echo services'."""
    where = f"interface {interface}"
    try:
        table = path.read_text()
    except OSError as exc:
        return EchoAnswer(where, None, f"cannot read {path}: {exc.strerror}")
    found = global_ipv6(interface, table)
    if len(found) == 1:
        return EchoAnswer(where, found[0])
    if not found:
        return EchoAnswer(where, None, "no stable global IPv6 address")
    # Several stable addresses: which one the world reaches is not ours to guess.
    return EchoAnswer(where, None, f"several global IPv6 addresses: {', '.join(found)}")
