"""DuckDNS's update URL (docs/protocols/duckdns.md): `GET /update?domains=<sub>&token=<t>
&ip=<address>&verbose=true`, answered `OK` (verbose: the addresses and UPDATED or NOCHANGE
on the next lines) or a bare `KO`, which DuckDNS gives for a wrong token and for a sub-name
not in the account alike.

The token has to travel in the query string (DuckDNS takes it nowhere else), so the URL with
its query is never put in a message: errors name the endpoint without it, and the token is
a config secret, masked wherever it could still show."""

from __future__ import annotations

import asyncio

import aiohttp

from nebula.helpers.ddns.outcome import Answer, Outcome
from nebula.helpers.ddns.updater import Provider, Target
from nebula.helpers.net import failure_from_exception

KO_MEANING = ("DuckDNS answered KO: the token is wrong or the sub-name is not in this "
              "account")


class DuckDns(Provider):
    label = "DuckDNS"

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str, domain: str,
                 index: int, *, timeout: float) -> None:
        self._session = session
        self._url = url
        self._token = token
        self._suffix = "." + domain.lower().rstrip(".")
        self.key = f"duckdns:{index}"
        self._timeout = timeout

    async def update(self, target: Target, family: int, ip: str) -> Answer:
        # DuckDNS documents `ip` as taking an IPv4 or an IPv6 address: each goes to its own
        # record (A or AAAA), so one request per family leaves the other alone.
        params = {"domains": target.host.removesuffix(self._suffix), "token": self._token,
                  "ip": ip, "verbose": "true"}
        try:
            async with self._session.get(
                    self._url, params=params,
                    timeout=aiohttp.ClientTimeout(total=self._timeout)) as resp:
                body = await resp.text(errors="replace")
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            failure = failure_from_exception(exc, self._url, service="DuckDNS",
                                             timeout=self._timeout)
            return Answer(Outcome.FAILED, None, str(failure), self.label)
        return parse(status, body, self.label)


def parse(status: int, body: str, label: str = "DuckDNS") -> Answer:
    lines = body.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if status == 429:
        return Answer(Outcome.RATE_LIMITED, status, "HTTP 429 Too Many Requests", label, 600.0)
    if status != 200:
        return Answer(Outcome.FAILED, status, f"HTTP {status}", label)
    if first == "KO":
        return Answer(Outcome.BAD_AUTH, "KO", "KO", label, meaning=KO_MEANING)
    if first == "OK":
        state = lines[-1].strip().upper() if len(lines) >= 4 else "UPDATED"
        outcome = Outcome.UNCHANGED if state == "NOCHANGE" else Outcome.UPDATED
        return Answer(outcome, "OK", " ".join(line.strip() for line in lines[1:]) or "OK",
                      label)
    snippet = " ".join(body.split())[:120]
    return Answer(Outcome.FAILED, None, f"unrecognised answer: {snippet!r}", label)
