"""Talking HTTP to a service: the TLS settings, and every failure named in the owner's terms.

    self.ssl = tls_context(config["verify_tls"], config.get("ca_bundle"))  # at startup
    with classified(url, service="Plex", timeout=10):
        async with session.get(url, ssl=self.ssl, timeout=...) as resp:
            if resp.status >= 400:
                raise failure_from_status(resp.status, url, service="Plex",
                                          body=await resp.text())

`classified` turns whatever aiohttp, asyncio or the socket raised into an `HTTPFailure`:
a `kind` a check can branch on (`kind.unreachable`: there was no answer at all) and a
message that says what happened and what to do, e.g. "cannot resolve host nas.lan",
"connection refused by 127.0.0.1:8123", "TLS handshake failed: the server does not speak
TLS on this port?". The message never carries the URL's query string or credentials.
Plugins with their own error type subclass `HTTPFailure` and pass `error=` to build it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import http
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp


class FailureKind(str, enum.Enum):
    DNS = "dns"                    # the host name does not resolve
    REFUSED = "refused"            # nothing listens on that host and port
    UNREACHABLE = "unreachable"    # no route, network down, any other connect failure
    TIMEOUT = "timeout"
    TLS = "tls"                    # the TLS handshake failed (not TLS there, protocol)
    CERTIFICATE = "certificate"    # not trusted, expired, or issued for another name
    DISCONNECTED = "disconnected"  # closed or reset before a whole answer arrived
    AUTH = "auth"                  # 401 / 407: credentials wrong, expired or revoked
    FORBIDDEN = "forbidden"        # 403
    NOT_FOUND = "not_found"        # 404
    RATE_LIMITED = "rate_limited"  # 429
    HTTP = "http"                  # any other 4xx, or an answer that is not HTTP
    SERVER = "server"              # 5xx

    @property
    def unreachable(self) -> bool:
        """No answer came at all (as opposed to an answer saying no)."""
        return self in _NO_ANSWER


_NO_ANSWER = frozenset({FailureKind.DNS, FailureKind.REFUSED, FailureKind.UNREACHABLE,
                        FailureKind.TIMEOUT, FailureKind.TLS, FailureKind.CERTIFICATE,
                        FailureKind.DISCONNECTED})


class HTTPFailure(Exception):
    """A failed request; `str()` is the message a person reads."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


# --- TLS settings ------------------------------------------------------------------------------


def trust(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A verifying client context trusting `ca_bundle` (PEM) instead of the system's store,
    or the system's store when None. An unusable bundle is a ValueError saying why."""
    try:
        return ssl.create_default_context(cafile=ca_bundle or None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load ca_bundle: {reason(exc)} ({ca_bundle})") from None


def tls_context(verify: bool = True, ca_bundle: str | None = None) -> ssl.SSLContext | bool:
    """What aiohttp's `ssl=` takes, from the `verify_tls` and `ca_bundle` settings
    (`nebula.helpers.schema.tls_options`): True for the system's trust store, False to
    skip verification, or a context trusting only the bundle. Build it once, at startup:
    a wrong setting fails the start with a ValueError naming it."""
    if ca_bundle and not verify:
        raise ValueError(f"ca_bundle ({ca_bundle}) is set but verify_tls is false: keep one")
    if not verify:
        return False
    return trust(ca_bundle) if ca_bundle else True


def tls_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What `tls_context` refuses in a plugin's `verify_tls` / `ca_bundle` settings (a
    bundle that cannot be read or used, one set with verification off), as the
    `(key, message)` pairs `nebula_validate_config` returns: the start builds the same
    context, so the two agree."""
    try:
        tls_context(config.get("verify_tls", True), config.get("ca_bundle"))
    except ValueError as exc:
        return [("ca_bundle", str(exc))]
    return []


# --- failures --------------------------------------------------------------------------------

# OpenSSL's reasons when the peer answered something that is not TLS (a plain-HTTP server
# answering the ClientHello with "HTTP/1.1 400").
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                      "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING"})
# X509_V_ERR_* codes (openssl/x509_vfy.h) with what the owner can do about each.
_CERT_HINTS = {
    10: "renew the certificate",                                        # CERT_HAS_EXPIRED
    62: "use a host name the certificate is issued for in the URL",     # HOSTNAME_MISMATCH
    64: "use a host name the certificate is issued for in the URL",     # IP_ADDRESS_MISMATCH
}
_TRUST_HINT = "set ca_bundle to the CA that signed it (or fix the certificate)"


def reason(exc: BaseException | None) -> str:
    """The cause of an OS, socket or TLS error in words, lower case: "name or service not
    known", "connection refused", "certificate has expired". Never `os.strerror(errno)`:
    an SSLError's errno 1 would read "operation not permitted" and a resolver's -2
    "unknown error -2"."""
    if exc is None:
        return "unknown cause"
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message).rstrip(".")
    if isinstance(exc, ssl.SSLError):
        if exc.reason:
            return str(exc.reason).replace("_", " ").lower()
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror).lower()
    return str(exc) or type(exc).__name__


def _where(url: str) -> tuple[str, str]:
    """The URL as shown (no credentials, query or fragment) and its `host:port`."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}{parts.path}", f"{shown_host}:{port}"


def _os_error(exc: BaseException) -> BaseException | None:
    """The OS-level error under `exc`: a connector error keeps it in `os_error` (aiohttp's
    TLS errors are SSLError subclasses themselves, but without the reason); anything else
    that is an OSError is its own cause."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    if isinstance(exc, OSError):
        return exc
    return exc.__cause__


def failure_from_exception(exc: BaseException, url: str, *, service: str = "the server",
                           timeout: float | None = None,
                           error: type[HTTPFailure] = HTTPFailure) -> HTTPFailure:
    """An `error` (HTTPFailure or a subclass) naming why a request to `url` raised `exc`."""
    shown, hostport = _where(url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        shown_host = f"[{exc.host}]" if ":" in exc.host else exc.host
        hostport = f"{shown_host}:{exc.port}"  # after a redirect: the host that failed
    within = f"within {timeout:g}s" if timeout is not None else "in time"
    cause = _os_error(exc)

    if isinstance(exc, aiohttp.ClientResponseError):  # raise_for_status, WebSocket upgrade
        return failure_from_status(exc.status, url, service=service, body=exc.message,
                                   error=error)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return error(FailureKind.TIMEOUT, f"could not connect to {hostport} {within}: is "
                                          f"the host up, and the port open to us?")
    if isinstance(exc, TimeoutError):  # asyncio's, the socket's and aiohttp's read timeout
        return error(FailureKind.TIMEOUT, f"{service} at {shown} did not answer {within}")
    if isinstance(cause, ssl.SSLCertVerificationError):
        hint = _CERT_HINTS.get(cause.verify_code, _TRUST_HINT)
        return error(FailureKind.CERTIFICATE, f"TLS certificate of {hostport} not trusted: "
                                              f"{reason(cause)}; {hint}")
    if isinstance(cause, ssl.SSLError) or isinstance(exc, aiohttp.ClientSSLError):
        if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS:
            return error(FailureKind.TLS, f"TLS handshake failed: the server does not speak "
                                          f"TLS on this port? ({hostport}; if it serves plain "
                                          f"HTTP, the URL must start with http://)")
        return error(FailureKind.TLS, f"TLS handshake with {hostport} failed: "
                                      f"{reason(cause)}")
    if isinstance(cause, socket.gaierror) or isinstance(exc, aiohttp.ClientConnectorDNSError):
        host = hostport.rsplit(":", 1)[0]
        return error(FailureKind.DNS, f"cannot resolve host {host} ({reason(cause)}): check "
                                      f"the host name in the URL")
    if isinstance(cause, ConnectionRefusedError):
        return error(FailureKind.REFUSED, f"connection refused by {hostport}: {service} is "
                                          f"not listening there; check the URL's host and "
                                          f"port, and that it is running")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        hint = ("; if it only speaks TLS, the URL must start with https://"
                if urlsplit(url).scheme in ("http", "ws") else "")
        return error(FailureKind.DISCONNECTED, f"{hostport} closed the connection without "
                                               f"answering{hint}")
    if isinstance(exc, aiohttp.ClientConnectorError) or (
            isinstance(cause, OSError) and not isinstance(cause, ConnectionError)
            and not isinstance(exc, aiohttp.ClientError)):
        return error(FailureKind.UNREACHABLE, f"cannot connect to {hostport}: {reason(cause)}")
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError
                  | ConnectionError):
        return error(FailureKind.DISCONNECTED, f"lost the connection to {service} at "
                                               f"{shown}: {reason(cause or exc)}")
    return error(FailureKind.HTTP, f"request to {service} at {shown} failed: "
                                   f"{type(exc).__name__}: {reason(exc)}")


_STATUS_HINTS = {
    401: (FailureKind.AUTH, "the credentials (token, key or password) are wrong, expired "
                            "or revoked"),
    407: (FailureKind.AUTH, "the proxy wants credentials"),
    403: (FailureKind.FORBIDDEN, "the credentials lack the rights for this, or the server "
                                 "refuses this host"),
    404: (FailureKind.NOT_FOUND, "is the URL right?"),
    429: (FailureKind.RATE_LIMITED, "it limits how often it may be asked; ask less often"),
}
BODY_EXCERPT = 200


def failure_from_status(status: int, url: str, *, service: str = "the server",
                        body: str = "",
                        error: type[HTTPFailure] = HTTPFailure) -> HTTPFailure:
    """An `error` for an HTTP error answer (4xx, 5xx) of whatever sits at `url`.
    `body` (the answer's text) adds its first line, which often says why."""
    shown, _ = _where(url)
    try:
        phrase = f" {http.HTTPStatus(status).phrase}"
    except ValueError:
        phrase = ""
    kind, hint = _STATUS_HINTS.get(status, (
        FailureKind.SERVER if status >= 500 else FailureKind.HTTP, ""))
    excerpt = " ".join(body.split())[:BODY_EXCERPT]
    if excerpt == phrase.strip():
        excerpt = ""  # aiohttp's ClientResponseError carries only the reason phrase
    message = f"{service} at {shown} answered HTTP {status}{phrase}"
    message += "".join(f": {part}" for part in (hint, excerpt) if part)
    return error(kind, message, status)


@contextlib.contextmanager
def classified(url: str, *, service: str = "the server", timeout: float | None = None,
               error: type[HTTPFailure] = HTTPFailure) -> Iterator[None]:
    """Around one request: anything aiohttp, asyncio, the socket or TLS raises leaves as
    an `error` (HTTPFailure or a subclass) saying why. An HTTPFailure raised inside passes
    through. Cancellation is not a failure and passes through too."""
    try:
        yield
    except HTTPFailure:
        raise
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        # The original's text can hold the full URL (query string included): not chained.
        raise failure_from_exception(exc, url, service=service, timeout=timeout,
                                     error=error) from None
