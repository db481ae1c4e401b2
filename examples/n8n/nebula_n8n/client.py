"""A small client for n8n's public REST API (`/api/v1`, key in `X-N8N-API-KEY`) and its
`/healthz` liveness endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from nebula.helpers.net import HTTPFailure, classified

API_KEY_HEADER = "X-N8N-API-KEY"
# A cursor that never ends (a proxy replaying one page) must not loop forever.
MAX_PAGES = 100


class N8nError(Exception):
    """n8n could not be reached or refused the request; the message is for the owner."""


class N8nClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], url: str,
                 api_key: str | None, timeout: float) -> None:
        self.session, self.url, self.api_key = session, url.rstrip("/"), api_key
        self.timeout = timeout

    async def _request(self, method: str, path: str, params: dict[str, str] | None = None,
                       api: bool = True) -> Any:
        headers = {}
        if api:
            if not self.api_key:
                raise N8nError("no api_key in [plugins.n8n]: create one in n8n under "
                               "Settings > n8n API")
            headers[API_KEY_HEADER] = self.api_key
        try:
            with classified(self.url + path, service="n8n", timeout=self.timeout):
                async with self.session().request(
                        method, self.url + path, params=params, headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    body = await resp.json(content_type=None) if resp.content_type.endswith(
                        "json") else await resp.text()
        except HTTPFailure as failure:  # says why: refused, name, timeout, TLS, ...
            raise N8nError(f"cannot reach n8n at {self.url}: {failure}") from None
        if resp.status == 401:
            raise N8nError("n8n refused the API key (401)")
        if resp.status >= 400:
            message = body.get("message") if isinstance(body, dict) else body
            raise N8nError(f"n8n answered {resp.status} to {method} {path}: {message}")
        return body

    async def health(self) -> Any:
        """`GET /healthz`: `{"status": "ok"}` while n8n is up (no key needed)."""
        return await self._request("GET", "/healthz", api=False)

    async def workflows(self, page_size: int = 100) -> list[dict[str, Any]]:
        """Every workflow, following `nextCursor` from page to page."""
        found: list[dict[str, Any]] = []
        params = {"limit": str(page_size)}
        for _ in range(MAX_PAGES):
            page = await self._request("GET", "/api/v1/workflows", params)
            found += page["data"]
            if not page.get("nextCursor"):
                return found
            params = {"limit": str(page_size), "cursor": page["nextCursor"]}
        raise N8nError(f"n8n kept paging past {MAX_PAGES} pages")

    async def set_active(self, workflow_id: str, active: bool) -> dict[str, Any]:
        """`POST /api/v1/workflows/{id}/activate` (or `/deactivate`): the workflow after."""
        verb = "activate" if active else "deactivate"
        return await self._request("POST", f"/api/v1/workflows/{workflow_id}/{verb}")
