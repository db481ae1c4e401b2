"""What went wrong talking to Home Assistant, in words that say what to do about it."""

from __future__ import annotations

import asyncio
import enum
import os
import ssl

import aiohttp


class Kind(str, enum.Enum):
    AUTH = "auth"              # 401: the token is wrong, expired or revoked
    BANNED = "banned"          # 403: HA's ip_ban answered for earlier bad logins
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    NOT_HA = "not_home_assistant"  # something answered, but not HA's API
    REFUSED = "refused"        # 400/404 to a request HA understood: bad service or data
    SERVER = "server"          # 5xx or a malformed answer


class HAError(Exception):
    """A failed request; `str()` is the message a person reads."""

    def __init__(self, kind: Kind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def from_exception(exc: BaseException, url: str, timeout: float) -> HAError:
    """Turn an aiohttp (or asyncio) failure into an HAError naming the cause."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return HAError(Kind.TIMEOUT, f"Home Assistant at {url} did not answer within "
                                     f"{timeout:g}s")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return HAError(Kind.TLS, f"TLS certificate of {url} not trusted "
                                 f"({_reason(exc.certificate_error)}); set ca_bundle to the "
                                 f"CA that signed it, or fix the certificate")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return HAError(Kind.TLS, f"TLS handshake with {url} failed ({_reason(exc)}); is url "
                                 f"https:// on a port that speaks TLS?")
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return HAError(Kind.UNREACHABLE, f"{url} refused the WebSocket upgrade "
                                         f"({exc.status}); a reverse proxy in front of Home "
                                         f"Assistant must pass the Upgrade and Connection "
                                         f"headers", exc.status)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return HAError(Kind.UNREACHABLE, f"cannot reach Home Assistant at {url}: "
                                         f"{_reason(exc.os_error)}; check url and that HA "
                                         f"is running")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        hint = "; if it serves HTTPS, url must start with https://" \
            if url.startswith("http://") else ""
        return HAError(Kind.UNREACHABLE, f"Home Assistant at {url} dropped the connection "
                                         f"({_reason(exc).lower()}){hint}")
    if isinstance(exc, aiohttp.ContentTypeError | ValueError):
        return HAError(Kind.NOT_HA, f"{url} did not answer JSON: is url Home Assistant's "
                                    f"base URL?")
    return HAError(Kind.SERVER, f"request to {url} failed: {type(exc).__name__}: {exc}")


def from_status(status: int, body: str, url: str) -> HAError:
    """An HAError for an HTTP error answer of Home Assistant (or whatever sits at `url`)."""
    if status == 401:
        return HAError(Kind.AUTH, "Home Assistant rejected the access token (401 "
                                  "Unauthorized): create a long-lived access token in your "
                                  "HA profile (Security tab) and put it in token/token_file; "
                                  "checking the config also needs an admin user", status)
    if status == 403:
        return HAError(Kind.BANNED, "Home Assistant refused this host (403 Forbidden): its "
                                    "IP was probably banned after bad logins; remove it from "
                                    "ip_bans.yaml and restart HA", status)
    text = body.strip()[:200]
    if status >= 500:
        return HAError(Kind.SERVER, f"Home Assistant answered {status} to {url}: {text}",
                       status)
    return HAError(Kind.REFUSED, f"Home Assistant answered {status} to {url}: {text}", status)


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return exc.verify_message
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # "connection refused", not asyncio's wording
    return str(exc) or type(exc).__name__
