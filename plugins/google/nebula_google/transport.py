"""One HTTP request to Google with the failures named: which service, where, why."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from nebula.helpers.net import HTTPFailure, classified
from nebula_google.errors import Unreachable


async def request(session: aiohttp.ClientSession, method: str, url: str, *, service: str,
                  timeout: float, **kwargs: Any) -> tuple[int, Any]:
    """`(status, parsed JSON body or None)`; raises Unreachable when there is no answer.
    The URL in messages carries no query string, where a code or token could travel."""
    where = url.split("?", 1)[0]
    try:
        with classified(where, service=service, timeout=timeout):
            async with session.request(method, url,
                                       timeout=aiohttp.ClientTimeout(total=timeout),
                                       **kwargs) as resp:
                text = await resp.text(errors="replace")
    except HTTPFailure as exc:  # refused, unresolvable, timed out, TLS, cut off
        raise Unreachable(str(exc)) from None
    try:
        body = json.loads(text) if text else None
    except ValueError:
        if resp.status < 400:
            raise Unreachable(f"{service} at {where} answered {resp.status} with something "
                              f"that is not JSON; is the URL right?") from None
        body = None
    return resp.status, body
