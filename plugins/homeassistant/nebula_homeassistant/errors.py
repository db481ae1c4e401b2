"""What went wrong talking to Home Assistant, in words that say what to do about it.

The classification is `nebula.helpers.net`'s (a `FailureKind` and a message naming the
cause: refused, timed out, name lookup failed, certificate not trusted, not TLS, ...);
this module adds only what Home Assistant needs said its own way: a rejected token (HA's
own 401, told apart from a 401 of a proxy in front of it), a banned address (403), a
WebSocket upgrade that a proxy refused, the reason HA gives for refusing a service call
(`{"message": ...}`), and an answer that is not HA's JSON."""

from __future__ import annotations

import json
from typing import cast

import aiohttp

from nebula.helpers.net import (
    FailureKind,
    HTTPFailure,
    failure_from_exception,
    failure_from_status,
)

SERVICE = "Home Assistant"
# What HA's 401 looks like: aiohttp's HTTPUnauthorized, a plain-text body and at most a
# `WWW-Authenticate: Bearer resource_metadata=...` (current HA, RFC 9728).
HA_401_BODY = "401: Unauthorized"
STOPPED = ("; not calling Home Assistant again until the config changes, so that repeated "
           "bad logins do not get this host banned")
RELOAD = "reload the agent (SIGHUP, or POST /api/v1/reload)"
FIX_TOKEN = (f": fix the token (create a long-lived access token in your HA profile, "
             f"Security tab, and put it in token or token_file), then {RELOAD}")


class HAError(HTTPFailure):
    """A failed request to Home Assistant; `kind` is a FailureKind, `str()` the message a
    person reads, `reason` the `message` of HA's JSON answer when it gave one."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None,
                 reason: str | None = None) -> None:
        super().__init__(kind, message, status)
        self.reason = reason


def from_exception(exc: BaseException, url: str, timeout: float) -> HAError:
    """Turn an aiohttp, asyncio or socket failure into an HAError naming the cause."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        if exc.status in (401, 403):
            return from_status(exc.status, exc.message, url,
                               exc.headers.get("WWW-Authenticate") if exc.headers else None)
        return HAError(FailureKind.HTTP, f"{url} refused the WebSocket upgrade "
                                         f"({exc.status}); a reverse proxy in front of Home "
                                         f"Assistant must pass the Upgrade and Connection "
                                         f"headers", exc.status)
    if isinstance(exc, ValueError):  # a WebSocket message that is not JSON
        return not_json(url)
    return cast(HAError, failure_from_exception(exc, url, service=SERVICE, timeout=timeout,
                                                error=HAError))


def from_status(status: int, body: str, url: str,
                www_authenticate: str | None = None) -> HAError:
    """An HAError for an HTTP error answer of Home Assistant (or whatever sits at `url`)."""
    if status == 401:
        return unauthorized(body, url, www_authenticate)
    if status == 403:
        return HAError(FailureKind.FORBIDDEN, "Home Assistant refused this host (403 "
                                              "Forbidden): its IP was probably banned after "
                                              "bad logins; remove it from ip_bans.yaml and "
                                              "restart HA", status)
    error = cast(HAError, failure_from_status(status, url, service=SERVICE, body=body,
                                              error=HAError))
    error.reason = _reason(body)
    return error


def unauthorized(body: str, url: str, www_authenticate: str | None = None) -> HAError:
    """A 401: Home Assistant's own (its token is wrong, expired or revoked) only when it
    looks like HA's; anything else is whatever stands in front of HA asking for its own
    login, and must not send the owner off to replace a good token."""
    challenge = (www_authenticate or "").strip()
    if body.strip() == HA_401_BODY and (not challenge or challenge.startswith("Bearer")):
        return HAError(FailureKind.AUTH, f"Home Assistant rejected the access token (401 "
                                         f"Unauthorized){STOPPED}{FIX_TOKEN}", 401)
    shown = (f"WWW-Authenticate: {challenge[:120]}" if challenge else
             f"its answer starts {' '.join(body.split())[:80]!r}")
    return HAError(FailureKind.AUTH, f"{url} answered 401 Unauthorized, but not as Home "
                                     f"Assistant does ({shown}): a reverse proxy or an auth "
                                     f"gateway in front of it wants a login of its own, or "
                                     f"url points at another service. Home Assistant checks "
                                     f"the token itself: let the proxy pass /api/ and "
                                     f"/api/websocket through{STOPPED}; then {RELOAD}", 401)


def token_rejected_on_websocket(why: str) -> HAError:
    return HAError(FailureKind.AUTH, f"Home Assistant rejected the access token on the "
                                     f"WebSocket ({why}){STOPPED}{FIX_TOKEN}")


def not_admin(name: str | None) -> HAError:
    user = f"the token's user ({name})" if name else "the token's user"
    return HAError(FailureKind.FORBIDDEN, f"{user} is not an administrator, and Home "
                                          f"Assistant answers its admin-only calls (the "
                                          f"configuration check) with 401, which counts as a "
                                          f"failed login towards an IP ban; so they are not "
                                          f"made: use an administrator's token, or set "
                                          f"check_config_interval = 0", 401)


def _reason(body: str) -> str | None:
    """The `message` of HA's JSON error answer (`{"message": "..."}`), if it is one."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    message = answer.get("message") if isinstance(answer, dict) else None
    return message.strip() if isinstance(message, str) and message.strip() else None


def not_json(url: str, status: int | None = None) -> HAError:
    return HAError(FailureKind.HTTP, f"{url} did not answer JSON: is url Home Assistant's "
                                     f"base URL?", status)
