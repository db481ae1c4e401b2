"""What went wrong talking to Home Assistant, in words that say what to do about it.

The classification is `nebula.helpers.net`'s (a `FailureKind` and a message naming the
cause: refused, timed out, certificate not trusted, not TLS, ...); this module adds only
what Home Assistant needs said its own way: a rejected token (401) and a banned address
(403), a WebSocket upgrade that a proxy refused, and an answer that is not HA's JSON."""

from __future__ import annotations

from typing import cast

import aiohttp

from nebula.helpers.net import (
    FailureKind,
    HTTPFailure,
    failure_from_exception,
    failure_from_status,
)

SERVICE = "Home Assistant"


class HAError(HTTPFailure):
    """A failed request to Home Assistant; `kind` is a FailureKind, `str()` the message a
    person reads."""


def from_exception(exc: BaseException, url: str, timeout: float) -> HAError:
    """Turn an aiohttp, asyncio or socket failure into an HAError naming the cause."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return HAError(FailureKind.HTTP, f"{url} refused the WebSocket upgrade "
                                         f"({exc.status}); a reverse proxy in front of Home "
                                         f"Assistant must pass the Upgrade and Connection "
                                         f"headers", exc.status)
    if isinstance(exc, ValueError):  # a WebSocket message that is not JSON
        return not_json(url)
    return cast(HAError, failure_from_exception(exc, url, service=SERVICE, timeout=timeout,
                                                error=HAError))


def from_status(status: int, body: str, url: str) -> HAError:
    """An HAError for an HTTP error answer of Home Assistant (or whatever sits at `url`)."""
    if status == 401:
        return HAError(FailureKind.AUTH, "Home Assistant rejected the access token (401 "
                                         "Unauthorized): create a long-lived access token "
                                         "in your HA profile (Security tab) and put it in "
                                         "token/token_file; checking the config also needs "
                                         "an admin user", status)
    if status == 403:
        return HAError(FailureKind.FORBIDDEN, "Home Assistant refused this host (403 "
                                              "Forbidden): its IP was probably banned after "
                                              "bad logins; remove it from ip_bans.yaml and "
                                              "restart HA", status)
    return cast(HAError, failure_from_status(status, url, service=SERVICE, body=body,
                                             error=HAError))


def not_json(url: str, status: int | None = None) -> HAError:
    return HAError(FailureKind.HTTP, f"{url} did not answer JSON: is url Home Assistant's "
                                     f"base URL?", status)
