"""The Plex Media Server HTTP API, as the plugin uses it (see the README's endpoint list).

JSON comes back only when asked for (`Accept: application/json`); everything is wrapped in
`{"MediaContainer": {...}}`. The token travels in the `X-Plex-Token` header, never in a URL,
so no log line or error text can carry it. Every failure becomes a `PlexError`: what went
wrong on the way (refused, timed out, TLS, ...) is named by `nebula.helpers.net`; this module
adds only what Plex needs said its own way (a refused token, an answer that is not Plex's).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from nebula.helpers.net import FailureKind, HTTPFailure, classified, failure_from_status

SERVICE = "Plex"
HEADERS = {
    "Accept": "application/json",
    "X-Plex-Product": "Nebula Command",
    "X-Plex-Client-Identifier": "nebula-command-plex-plugin",
    "X-Plex-Device-Name": "Nebula Command",
}


class PlexError(HTTPFailure):
    """A failed request to Plex; `kind` (a FailureKind) says what sort, `str()` says what
    to do about it."""


class PlexClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], url: str, token: str, *,
                 timeout: float, tls: ssl.SSLContext | bool = True) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.tls = tls

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *,
                  token: bool = True) -> dict[str, Any]:
        """The MediaContainer of `GET path`."""
        return await self._request("GET", path, params, token=token)

    async def put(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self._request("PUT", path, params)

    async def _request(self, method: str, path: str, params: Mapping[str, Any] | None,
                       *, token: bool = True) -> dict[str, Any]:
        headers = dict(HEADERS)
        if token:
            headers["X-Plex-Token"] = self._token
        url = self.url + path
        with classified(url, service=SERVICE, timeout=self.timeout, error=PlexError):
            # The agent's shared session, fetched per request: the agent may replace it.
            async with self.session().request(
                    method, url, params=params, headers=headers, ssl=self.tls,
                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                body = await resp.read()
        return self._container(path, resp, body)

    def _container(self, path: str, resp: aiohttp.ClientResponse,
                   body: bytes) -> dict[str, Any]:
        if resp.status == 401:
            raise PlexError(FailureKind.AUTH, "Plex rejected the token (HTTP 401 Unauthorized "
                                              f"on {path}): it is wrong or was revoked "
                                              "(tokens change after a password reset or "
                                              "signing out everywhere); put the current "
                                              "X-Plex-Token in token_file", 401)
        if resp.status not in (200, 201, 204):
            # Plex's own error answers are HTML pages: their text says nothing more.
            error = failure_from_status(resp.status, self.url + path, service=SERVICE,
                                        error=PlexError)
            if path == "/identity":  # every Plex server answers it: url points elsewhere
                raise PlexError(error.kind, f"{error}; is url a Plex Media Server?",
                                resp.status)
            raise error
        if not body.strip():
            return {}  # actions (refresh, emptyTrash, optimize) answer 200 with no body
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("MediaContainer"), dict):
            kind = resp.content_type or "no content type"
            raise PlexError(FailureKind.HTTP, f"{self.url} is not a Plex Media Server: "
                                              f"{path} answered {kind}, not a "
                                              "MediaContainer; check url")
        return data["MediaContainer"]
