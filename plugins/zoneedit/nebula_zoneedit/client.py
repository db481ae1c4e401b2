"""One call to ZoneEdit's dynamic-update endpoint (the classic `dynamic.html` form)."""

from __future__ import annotations

import asyncio
import base64

import aiohttp

from nebula.helpers.net import failure_from_exception
from nebula_zoneedit.answers import Answer, Outcome, parse


async def update(session: aiohttp.ClientSession, url: str, username: str, token: str,
                 host: str, ip: str, zone: str | None, *, timeout: float,
                 min_interval: float) -> Answer:
    """Point `host` at `ip`. Credentials travel only in the Authorization header, so no
    URL, log line or error text can carry them."""
    params = {"host": host, "dnsto": ip}
    if zone:
        params["zone"] = zone
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    try:
        async with session.get(url, params=params, headers={"Authorization": f"Basic {basic}"},
                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            body = await resp.text(errors="replace")
            return parse(resp.status, body, host, min_interval)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        failure = failure_from_exception(exc, url, service="ZoneEdit", timeout=timeout)
        return Answer(Outcome.FAILED, None, str(failure))
