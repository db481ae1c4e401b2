"""Home Assistant's REST API (`/api/...`) with a long-lived access token.

The token travels only in the `Authorization: Bearer` header, so no URL, log line or error
text carries it. Every failure becomes an `HAError` that says what to fix. Every request
goes through the runtime's `Access`: after a rejected token nothing is sent at all."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from nebula.helpers.net import FailureKind, classified, tls_context
from nebula_homeassistant.access import Access
from nebula_homeassistant.errors import SERVICE, HAError, from_status, not_admin, not_json


class Client:
    def __init__(self, session: aiohttp.ClientSession, config: Mapping[str, Any],
                 access: Access) -> None:
        self.session = session
        self.access = access
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
                      timeout: float | None = None, admin_only: bool = False) -> Any:
        """JSON answer of `method /api/<path>`; raises HAError. `admin_only`: HA answers a
        non-admin user's token there with 401 too; once the token is known to be good,
        that 401 says "not an administrator", not "wrong token"."""
        url = f"{self.base}/api/{path}"
        limit = timeout or self.timeout
        async with self.access.use():
            started = time.perf_counter()
            with classified(self.base, service=SERVICE, timeout=limit, error=HAError):
                async with self.session.request(
                        method, url, json=body, ssl=self.ssl,
                        headers={"Authorization": f"Bearer {self.token}"},
                        timeout=aiohttp.ClientTimeout(total=limit)) as resp:
                    text = await resp.text(errors="replace")
                    challenge = resp.headers.get("WWW-Authenticate")
                    self.last_ms = (time.perf_counter() - started) * 1000
            if resp.status == 401 and admin_only and self.access.accepted:
                self.access.learn_user({**(self.access.user or {}), "is_admin": False})
                raise not_admin(self.access.user_name)
            if resp.status == 401:
                raise self.access.reject(from_status(401, text, url, challenge))
            if resp.status < 400:
                self.access.accept()
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

    async def post(self, path: str, body: Any = None, timeout: float | None = None,
                   admin_only: bool = False) -> Any:
        return await self.request("POST", path, body, timeout, admin_only)
