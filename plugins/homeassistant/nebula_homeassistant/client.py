"""Home Assistant's REST API (`/api/...`) with a long-lived access token.

The token travels only in the `Authorization: Bearer` header, so no URL, log line or error
text carries it. Every failure becomes an `HAError` that says what to fix."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from nebula_homeassistant.errors import HAError, Kind, from_exception, from_status


def tls_context(config: Mapping[str, Any]) -> ssl.SSLContext | bool:
    """What aiohttp's `ssl=` gets: a context trusting `ca_bundle`, False for no checks."""
    if not config["verify_tls"]:
        return False
    if bundle := config.get("ca_bundle"):
        return ssl.create_default_context(cafile=bundle)
    return True


class Client:
    def __init__(self, session: aiohttp.ClientSession, config: Mapping[str, Any]) -> None:
        self.session = session
        self.base = config["url"].rstrip("/")
        self.token = config["token"]
        self.timeout = float(config["timeout"])
        self.ssl = tls_context(config)
        self.last_ms: float | None = None

    @property
    def websocket_url(self) -> str:
        scheme, rest = self.base.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/websocket"

    async def request(self, method: str, path: str, body: Any = None,
                      timeout: float | None = None) -> Any:
        """JSON answer of `method /api/<path>`; raises HAError."""
        url = f"{self.base}/api/{path}"
        limit = timeout or self.timeout
        started = time.perf_counter()
        try:
            async with self.session.request(
                    method, url, json=body, ssl=self.ssl,
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=aiohttp.ClientTimeout(total=limit)) as resp:
                text = await resp.text(errors="replace")
                self.last_ms = (time.perf_counter() - started) * 1000
                if resp.status == 404 and path in ("", "config"):
                    raise HAError(Kind.NOT_HA, f"{url} answered 404: is url Home Assistant's "
                                               f"base URL (as in the browser, without "
                                               f"/api)?", 404)
                if resp.status >= 400:
                    raise from_status(resp.status, text, url)
                try:
                    return json.loads(text)
                except ValueError:
                    raise HAError(Kind.NOT_HA, f"{url} did not answer JSON: is url Home "
                                               f"Assistant's base URL?",
                                  resp.status) from None
        except HAError:
            raise
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise from_exception(exc, self.base, limit) from None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None, timeout: float | None = None) -> Any:
        return await self.request("POST", path, body, timeout)
