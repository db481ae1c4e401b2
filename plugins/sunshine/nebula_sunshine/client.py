"""Sunshine's web API (docs/protocols/sunshine.md): HTTPS with the admin user's Basic auth,
JSON in and out, on a certificate Sunshine signed itself.

No CA vouches for that certificate, so the plugin pins it: the configured `fingerprint`, or
the one seen at the first contact (trust on first use, kept in the plugin's store). Every
request is made with `aiohttp.Fingerprint`, which checks the certificate during the TLS
handshake, before the request (and so the password) is sent. A different certificate is a
`PinMismatch`, never silently accepted; `sunshine.trust_certificate` (approved) pins the new
one. The first contact sends no credentials.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from nebula.helpers.net import FailureKind, HTTPFailure, classified, failure_from_status

SERVICE = "Sunshine"
PIN_KEY = "certificate_sha256"


class SunshineError(HTTPFailure):
    """A failed request; `kind` says what sort (`kind.unreachable`: Sunshine is down)."""


class PinMismatch(SunshineError):
    def __init__(self, pinned: str, seen: str) -> None:
        super().__init__(FailureKind.CERTIFICATE, (
            f"Sunshine's certificate changed: pinned SHA-256 {pinned}, now {seen}. If "
            "Sunshine was reinstalled or its certificate replaced, approve "
            "sunshine.trust_certificate; otherwise something else answers at this address"))
        self.pinned = pinned
        self.seen = seen


class Store(Protocol):
    async def get(self, key: str, default: Any = None) -> Any: ...
    async def set(self, key: str, value: Any) -> None: ...


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def normalise(fingerprint: str) -> str:
    return colon_hex(bytes.fromhex(fingerprint.replace(":", "")))


@functools.cache
def _insecure() -> ssl.SSLContext:
    # Only to read the certificate at the first contact (no credentials sent), so nothing is
    # verified and no CA store is loaded: create_default_context() read the system's 140-odd
    # CAs (~20 ms of CPU) on every poll while Sunshine had never answered. Made once.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class SunshineClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], url: str, username: str,
                 password: str, *, timeout: float, store: Store, fixed: str | None = None,
                 on_pin: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.session = session
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._authorization = f"Basic {token}"
        self.timeout = timeout
        self._store = store
        self._fixed = normalise(fixed) if fixed else None
        self._on_pin = on_pin

    # --- the certificate -----------------------------------------------------------------------

    @property
    def fixed(self) -> bool:
        return self._fixed is not None

    async def presented(self) -> str:
        """The SHA-256 fingerprint of the certificate Sunshine presents now: a TLS handshake
        and nothing else (no request, no credentials)."""
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or 443
        with classified(self.url, service=SERVICE, timeout=self.timeout, error=SunshineError):
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=_insecure(), server_hostname=host),
                self.timeout)
            try:
                tls = writer.get_extra_info("ssl_object")
                der = tls.getpeercert(binary_form=True) if tls is not None else None
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()
        if not der:
            raise SunshineError(FailureKind.TLS, f"{self.url} presented no certificate: is "
                                                 "it Sunshine's HTTPS web UI?")
        return colon_hex(hashlib.sha256(der).digest())

    async def pinned(self) -> str:
        if self._fixed:
            return self._fixed
        pin = await self._store.get(PIN_KEY)
        if not pin:
            pin = await self.presented()
            await self.pin(pin)
        return str(pin)

    async def pin(self, fingerprint: str) -> None:
        await self._store.set(PIN_KEY, fingerprint)
        if self._on_pin is not None:
            await self._on_pin(fingerprint)

    # --- requests ------------------------------------------------------------------------------

    async def get(self, path: str) -> Any:
        return await self._json("GET", path)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self._json("POST", path, body)

    async def delete(self, path: str) -> Any:
        return await self._json("DELETE", path)

    async def text(self, path: str) -> str:
        _, body, _ = await self.request("GET", path)
        return body.decode("utf-8", "replace")

    async def request(self, method: str, path: str, body: Any = None
                      ) -> tuple[int, bytes, str]:
        pinned = await self.pinned()
        url = self.url + path
        # Newer Sunshine refuses a POST without this exact content type (400).
        headers = {"Authorization": self._authorization}
        if method != "GET":
            headers["Content-Type"] = "application/json"
        data = json.dumps({} if body is None else body) if method == "POST" else None
        with classified(url, service=SERVICE, timeout=self.timeout, error=SunshineError):
            try:
                async with self.session().request(
                        method, url, data=data, headers=headers,
                        allow_redirects=False,
                        ssl=aiohttp.Fingerprint(bytes.fromhex(pinned.replace(":", ""))),
                        timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    payload = await resp.read()
            except aiohttp.ServerFingerprintMismatch as exc:
                raise PinMismatch(pinned, colon_hex(exc.got)) from None
        self._raise_for(resp.status, resp.headers, url, payload)
        return resp.status, payload, resp.content_type

    def _raise_for(self, status: int, headers: Any, url: str, payload: bytes) -> None:
        if status == 401:
            raise SunshineError(FailureKind.AUTH, "Sunshine refused the user name or password "
                                                  "(HTTP 401): check username and "
                                                  "password_file", 401)
        if status in (301, 302, 303, 307, 308) and "welcome" in headers.get("Location", ""):
            raise SunshineError(FailureKind.AUTH, "Sunshine has no admin user yet: create one "
                                                  "in its web UI first", status)
        if status == 403:
            raise SunshineError(FailureKind.FORBIDDEN, "Sunshine refuses requests from this "
                                                       "address (its origin_web_ui_allowed "
                                                       "setting)", 403)
        if status >= 300:
            error = _error_text(payload)
            failure = failure_from_status(status, url, service=SERVICE, body=error,
                                          error=SunshineError)
            raise failure

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        _, payload, _ = await self.request(method, path, body)
        try:
            data = json.loads(payload)
        except ValueError:
            raise SunshineError(FailureKind.HTTP, f"{self.url}{path} answered something "
                                                  "that is not JSON: is this Sunshine?") from None
        if isinstance(data, dict) and str(data.get("status", "true")).lower() == "false":
            # Older Sunshine answers HTTP 200 with {"status": "false", "error": ...}.
            raise SunshineError(FailureKind.HTTP, f"Sunshine refused {method} {path}: "
                                                  f"{data.get('error') or 'no reason given'}")
        return data


def _error_text(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def ok(data: Any) -> bool:
    """Sunshine's `status`: a JSON boolean, or the string "true" from older versions."""
    return isinstance(data, dict) and str(data.get("status")).lower() == "true"
