"""Caddy's admin API (docs/protocols/caddy.md): the config and its version tag, the
upstreams' counters, the Caddyfile adapter and the internal CA's root.

Every change is a whole config sent to `POST /config/` with `If-Match` naming the version it
was made from: Caddy compares and swaps under its config lock, so an edit made meanwhile by
anyone (another agent, `caddy reload`, a person with curl) makes ours fail with 412 instead
of being overwritten. Caddy 2.6 sends the version (`ETag`) of a `GET /config/` as an HTTP
*trailer*, which aiohttp does not read; there it is the FNV-1a (32 bit) hash of the body's
bytes, so it is computed here from the body exactly as Caddy computes it. Later Caddy
releases send it as a header (with another hash): a header, when present, is used as is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from nebula.helpers.net import HTTPFailure, classified, failure_from_status

SERVICE = "Caddy's admin API"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


class CaddyError(HTTPFailure):
    """A request to the admin API failed (no answer, or an error answer)."""


class Conflict(Exception):
    """The config changed since the version a change was made from: nothing was applied."""


class Refused(Exception):
    """Caddy refused a config or a Caddyfile (it keeps running the one it had)."""


def etag(path: str, body: bytes) -> str:
    """The version tag Caddy gives the value at `path` (e.g. "/config/") serialised as
    `body`: `"<path> <fnv-1a-32 hex>"`, quotes included, as `If-Match` wants it."""
    h = _FNV_OFFSET
    for byte in body:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return f'"{path} {h:08x}"'


@dataclass(frozen=True)
class Versioned:
    """The whole running config and its version tag."""

    config: dict[str, Any]
    etag: str


class Admin:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, timeout: float) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._seconds = timeout

    async def _request(self, method: str, path: str, *, body: bytes | None = None,
                       headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, data, _ = await self._exchange(method, path, body=body, headers=headers)
        return status, data

    async def _exchange(self, method: str, path: str, *, body: bytes | None = None,
                        headers: dict[str, str] | None = None
                        ) -> tuple[int, bytes, str | None]:
        """Status, body and the ETag header (None when not sent as a header)."""
        url = self.base_url + path
        with classified(url, service=SERVICE, timeout=self._seconds, error=CaddyError):
            async with self._http.request(method, url, data=body, headers=headers,
                                          timeout=self._timeout) as resp:
                return resp.status, await resp.read(), resp.headers.get("ETag")

    async def _ok(self, method: str, path: str) -> tuple[bytes, str | None]:
        status, data, tag = await self._exchange(method, path)
        if status >= 400:
            raise failure_from_status(status, self.base_url + path, service=SERVICE,
                                      body=_error_text(data), error=CaddyError)
        return data, tag

    async def config(self) -> Versioned:
        body, tag = await self._ok("GET", "/config/")
        return Versioned(json.loads(body) or {}, tag or etag("/config/", body))

    async def upstreams(self) -> list[dict[str, Any]]:
        """`[{"address", "num_requests", "fails"}]`: every reverse-proxy upstream Caddy
        knows, with its passive health counters."""
        body, _ = await self._ok("GET", "/reverse_proxy/upstreams")
        return list(json.loads(body) or [])

    async def internal_root(self) -> str | None:
        """The PEM root of Caddy's internal CA ("local"), or None when it has none."""
        status, data = await self._request("GET", "/pki/ca/local")
        if status != 200:
            return None
        return str(json.loads(data).get("root_certificate") or "") or None

    async def adapt(self, caddyfile: str) -> tuple[dict[str, Any], list[str]]:
        """The JSON config a Caddyfile becomes, and the adapter's warnings; nothing is
        applied. A Caddyfile Caddy cannot read raises `Refused` with its message."""
        status, data = await self._request("POST", "/adapt", body=caddyfile.encode(),
                                           headers={"Content-Type": "text/caddyfile"})
        if status == 400:
            raise Refused(_error_text(data))
        if status >= 400:
            raise failure_from_status(status, self.base_url + "/adapt", service=SERVICE,
                                      body=_error_text(data), error=CaddyError)
        answer = json.loads(data)
        warnings = [f"{w.get('file', '')}:{w.get('line', '?')}: {w.get('message', '')}"
                    for w in answer.get("warnings") or []]
        return answer.get("result") or {}, warnings

    async def replace(self, config: dict[str, Any], if_match: str) -> None:
        """Run `config` instead of the version `if_match`. Raises `Conflict` when the
        running config is no longer that version, `Refused` when Caddy cannot load the
        new one (it keeps the old one then)."""
        status, data = await self._request(
            "POST", "/config/", body=json.dumps(config).encode(),
            headers={"Content-Type": "application/json", "If-Match": if_match})
        if status == 412:
            raise Conflict("Caddy's config changed since this change was planned (another "
                           "edit came first); nothing was applied: look again and retry")
        text = _error_text(data)
        # 400: a config Caddy cannot decode; 500 "loading new config: ...": one it could
        # not start (a port taken, a module refusing its settings). Either way Caddy put
        # the old config back before answering.
        if status == 400 or (status == 500 and text.startswith("loading new config")):
            raise Refused(text)
        if status >= 400:
            raise failure_from_status(status, self.base_url + "/config/", service=SERVICE,
                                      body=text, error=CaddyError)


def _error_text(data: bytes) -> str:
    """Caddy's `{"error": "..."}` answer as its message."""
    try:
        return str(json.loads(data).get("error") or data.decode(errors="replace"))
    except (ValueError, AttributeError):
        return data.decode(errors="replace").strip()
