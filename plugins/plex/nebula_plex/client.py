"""The Plex Media Server HTTP API, as the plugin uses it (see the README's endpoint list).

JSON comes back only when asked for (`Accept: application/json`); everything is wrapped in
`{"MediaContainer": {...}}`. The token travels in the `X-Plex-Token` header, never in a URL,
so no log line or error text can carry it. Every failure becomes a `PlexError` whose message
says what went wrong in the owner's terms (wrong URL, wrong token, timeout, TLS).
"""

from __future__ import annotations

import asyncio
import enum
import json
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

HEADERS = {
    "Accept": "application/json",
    "X-Plex-Product": "Nebula Command",
    "X-Plex-Client-Identifier": "nebula-command-plex-plugin",
    "X-Plex-Device-Name": "Nebula Command",
}


class Failure(str, enum.Enum):
    DNS = "dns"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    TOKEN = "token"
    NOT_PLEX = "not_plex"
    HTTP = "http"

    @property
    def unreachable(self) -> bool:
        """The server could not be talked to at all (as opposed to answering wrongly)."""
        return self in (Failure.DNS, Failure.REFUSED, Failure.UNREACHABLE, Failure.TIMEOUT,
                        Failure.TLS)


class PlexError(Exception):
    def __init__(self, failure: Failure, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.failure = failure
        self.status = status


def tls_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What aiohttp's `ssl=` takes: True for the system's trust store, False to skip
    verification, or a context trusting only the configured CA bundle."""
    if not verify:
        return False
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return True


class PlexClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], url: str, token: str, *,
                 timeout: float, tls: ssl.SSLContext | bool = True) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.tls = tls
        parts = urlsplit(self.url)
        self._where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

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
        try:
            # The agent's shared session, fetched per request: the agent may replace it.
            async with self.session().request(
                    method, self.url + path, params=params, headers=headers, ssl=self.tls,
                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                body = await resp.read()
                return self._container(method, path, resp, body)
        except asyncio.TimeoutError:
            raise PlexError(Failure.TIMEOUT, f"Plex at {self.url} did not answer {path} within "
                                             f"{self.timeout:g}s") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise PlexError(Failure.TLS, f"TLS certificate of {self._where} not trusted: "
                                         f"{exc.certificate_error}; set ca_bundle to the CA "
                                         "that signed it (or verify_tls = false)") from None
        except (aiohttp.ClientConnectorSSLError, aiohttp.ClientSSLError) as exc:
            raise PlexError(Failure.TLS, f"TLS handshake with {self._where} failed: "
                                         f"{_reason(exc)}; is the URL's scheme right "
                                         "(http or https)?") from None
        except aiohttp.ClientConnectorDNSError:
            raise PlexError(Failure.DNS, f"cannot resolve {urlsplit(self.url).hostname}: "
                                         "check the host name in url") from None
        except aiohttp.ClientConnectorError as exc:
            raise _connect_error(exc, self.url, self._where) from None
        except aiohttp.ServerDisconnectedError:
            raise PlexError(Failure.UNREACHABLE, f"{self._where} closed the connection without "
                                                 f"answering {path}; if it only speaks TLS, "
                                                 "the url must start with https://") from None
        except aiohttp.ClientError as exc:
            raise PlexError(Failure.UNREACHABLE, f"lost the connection to Plex at {self.url} "
                                                 f"during {path}: {_reason(exc)}") from None

    def _container(self, method: str, path: str, resp: aiohttp.ClientResponse,
                   body: bytes) -> dict[str, Any]:
        if resp.status == 401:
            raise PlexError(Failure.TOKEN, "Plex rejected the token (HTTP 401 Unauthorized on "
                                           f"{path}): it is wrong or was revoked (tokens change "
                                           "after a password reset or signing out everywhere); "
                                           "put the current X-Plex-Token in token_file",
                            401)
        if resp.status not in (200, 201, 204):
            # Every Plex server answers /identity; failing it, url points somewhere else.
            hint = "; is url a Plex Media Server?" if path == "/identity" else ""
            raise PlexError(Failure.HTTP, f"Plex answered HTTP {resp.status} to {method} "
                                          f"{path}{hint}", resp.status)
        if not body.strip():
            return {}  # actions (refresh, emptyTrash, optimize) answer 200 with no body
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("MediaContainer"), dict):
            kind = resp.content_type or "no content type"
            raise PlexError(Failure.NOT_PLEX, f"{self.url} is not a Plex Media Server: "
                                              f"{path} answered {kind}, not a MediaContainer; "
                                              "check url")
        return data["MediaContainer"]


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "os_error", None) or exc.__cause__ or exc
    return str(inner) or type(inner).__name__


def _connect_error(exc: aiohttp.ClientConnectorError, url: str, where: str) -> PlexError:
    os_error = exc.os_error
    if isinstance(os_error, ConnectionRefusedError):
        return PlexError(Failure.REFUSED, f"connection refused by {where}: Plex is not running "
                                          "there, or url has the wrong host or port")
    if isinstance(os_error, socket.gaierror):
        return PlexError(Failure.DNS, f"cannot resolve {urlsplit(url).hostname}: check the "
                                      "host name in url")
    return PlexError(Failure.UNREACHABLE, f"cannot connect to Plex at {where}: "
                                          f"{_reason(exc)}")
