"""Finding the public IP: ask several echo services, believe them only when they agree."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

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
                   min_agreeing: int, timeout: float) -> Consensus:
    answers = await asyncio.gather(*(ask(session, url, family, timeout) for url in urls))
    return agree(answers, family, min_agreeing)
