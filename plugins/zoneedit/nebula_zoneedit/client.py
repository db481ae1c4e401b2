"""ZoneEdit as a `nebula.helpers.ddns` provider: one call to its dynamic-update endpoint (the
classic `dynamic.html` form) per host and address family."""

from __future__ import annotations

import asyncio
import base64

import aiohttp

from nebula.helpers.ddns.outcome import Answer, Outcome
from nebula.helpers.ddns.updater import Provider, Target
from nebula.helpers.net import failure_from_exception
from nebula_zoneedit.answers import parse


class ZoneEdit(Provider):
    label = "ZoneEdit"
    key = "zoneedit"

    def __init__(self, session: aiohttp.ClientSession, url: str, username: str, token: str,
                 *, timeout: float, min_interval: float) -> None:
        self._session = session
        self._url = url
        # Credentials travel only in the Authorization header, so no URL, log line or
        # error text can carry them.
        basic = base64.b64encode(f"{username}:{token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        self._timeout = timeout
        self._min_interval = min_interval

    async def update(self, target: Target, family: int, ip: str) -> Answer:
        """Point `target.host` at `ip` (ZoneEdit tells A from AAAA by the address)."""
        params = {"host": target.host, "dnsto": ip}
        if target.zone:
            params["zone"] = target.zone
        try:
            async with self._session.get(
                    self._url, params=params, headers=self._headers,
                    timeout=aiohttp.ClientTimeout(total=self._timeout)) as resp:
                body = await resp.text(errors="replace")
                return parse(resp.status, body, target.host, self._min_interval)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            failure = failure_from_exception(exc, self._url, service="ZoneEdit",
                                             timeout=self._timeout)
            return Answer(Outcome.FAILED, None, str(failure), "ZoneEdit")
