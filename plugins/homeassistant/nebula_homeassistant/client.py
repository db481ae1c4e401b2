"""Home Assistant's REST API (`/api/...`) with a long-lived access token.

The token travels only in the `Authorization: Bearer` header, so no URL, log line or error
text carries it. Every failure becomes an `HAError` that says what to fix."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from nebula.helpers.net import FailureKind, classified, tls_context
from nebula_homeassistant.errors import SERVICE, HAError, from_status, not_json


class Client:
    def __init__(self, session: aiohttp.ClientSession, config: Mapping[str, Any]) -> None:
        self.session = session
        self.base = config["url"].rstrip("/")
        self.token = config["token"]
        self.timeout = float(config["timeout"])
        self.ssl = tls_context(config["verify_tls"], config.get("ca_bundle"))
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
        with classified(self.base, service=SERVICE, timeout=limit, error=HAError):
            async with self.session.request(
                    method, url, json=body, ssl=self.ssl,
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=aiohttp.ClientTimeout(total=limit)) as resp:
                text = await resp.text(errors="replace")
                self.last_ms = (time.perf_counter() - started) * 1000
        if resp.status == 404 and path in ("", "config"):
            raise HAError(FailureKind.NOT_FOUND, f"{url} answered 404: is url Home "
                                                 f"Assistant's base URL (as in the browser, "
                                                 f"without /api)?", 404)
        if resp.status >= 400:
            raise from_status(resp.status, text, url)
        try:
            return json.loads(text)
        except ValueError:
            raise not_json(url, resp.status) from None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None, timeout: float | None = None) -> Any:
        return await self.request("POST", path, body, timeout)
