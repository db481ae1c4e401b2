"""Cloudflare's API v4 (docs/protocols/cloudflare.md): an API token as a Bearer header, the
zone found by name (`GET /zones?name=`), the record by type and name
(`GET /zones/{id}/dns_records?type=A&name=`), and only its `content` changed with a PATCH, so
`proxied`, `ttl` and the comment stay as the owner set them.

A proxied name serves Cloudflare's own addresses in DNS, never ours: such a record is read
back through the API instead of DNS, for the comparison and the verification alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from nebula.helpers.ddns.outcome import Answer, Outcome
from nebula.helpers.ddns.published import Published
from nebula.helpers.ddns.updater import Provider, Target
from nebula.helpers.net import failure_from_exception

RDTYPE = {4: "A", 6: "AAAA"}
# Cloudflare allows 1200 API requests per five minutes per token; past that it answers 429
# and refuses for the rest of the window.
RATE_WINDOW = 300.0
# Error codes that mean the token itself is refused (unknown, without the scope, used from
# a place it is not allowed from, malformed): docs/protocols/cloudflare.md.
AUTH_CODES = {6003, 6111, 9109, 10000}
BAD_AUTH_MEANING = ("Cloudflare refused the API token: it needs Zone:Read and DNS:Edit on "
                    "this zone")


class CloudflareError(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.describe())
        self.answer = answer


class Cloudflare(Provider):
    label = "Cloudflare"

    def __init__(self, session: aiohttp.ClientSession, api_url: str, token: str, index: int,
                 *, zone: str | None, timeout: float) -> None:
        self._session = session
        self._api = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self.key = f"cloudflare:{index}"
        self._zone = zone
        self._timeout = timeout
        self._by_name: dict[str, str | None] = {}  # zone name -> id (None: no such zone)
        self._host_zone: dict[str, str] = {}  # host -> its zone's id
        self.proxied: set[tuple[str, int]] = set()

    # --- the API -------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Mapping[str, Any] | None = None) -> Any:
        url = f"{self._api}{path}"
        try:
            async with self._session.request(
                    method, url, params=params, json=body, headers=self._headers,
                    timeout=aiohttp.ClientTimeout(total=self._timeout)) as resp:
                text = await resp.text(errors="replace")
                retry_after = resp.headers.get("Retry-After")
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            failure = failure_from_exception(exc, url, service="Cloudflare",
                                             timeout=self._timeout)
            raise CloudflareError(Answer(Outcome.FAILED, None, str(failure), self.label)) \
                from None
        try:
            envelope = json.loads(text)
        except ValueError:
            envelope = {}
        if not isinstance(envelope, dict):
            envelope = {}
        if status == 200 and envelope.get("success") is True:
            return envelope.get("result")
        raise CloudflareError(self._failure(status, envelope, retry_after))

    def _failure(self, status: int, envelope: Mapping[str, Any],
                 retry_after: str | None) -> Answer:
        errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)]
        code = errors[0].get("code") if errors else status
        text = "; ".join(str(e.get("message", "")) for e in errors) or f"HTTP {status}"
        if status == 429:
            try:
                wait = float(retry_after or RATE_WINDOW)
            except ValueError:
                wait = RATE_WINDOW
            return Answer(Outcome.RATE_LIMITED, code, text, self.label, wait)
        if status in (401, 403) or any(e.get("code") in AUTH_CODES for e in errors):
            return Answer(Outcome.BAD_AUTH, code, text, self.label, meaning=BAD_AUTH_MEANING)
        if 400 <= status < 500:
            return Answer(Outcome.BAD_REQUEST, code, text, self.label)
        return Answer(Outcome.FAILED, code, text, self.label)

    async def _zone_id(self, target: Target) -> str:
        """The id of the host's zone: the configured one, else the closest enclosing name
        the token can see (`www.a.example.com` tries itself, a.example.com, then
        example.com). Answers are kept for the runtime's life (a reload starts afresh), a
        name that is no zone too, so a cycle asks only for records."""
        if (zid := self._host_zone.get(target.host)) is not None:
            return zid
        labels = target.host.split(".")
        names = ([self._zone] if self._zone else
                 [".".join(labels[i:]) for i in range(len(labels) - 1)])
        for name in names:
            if name not in self._by_name:
                found = await self._call("GET", "/zones", params={"name": name})
                self._by_name[name] = found[0]["id"] if found else None
            if (zid := self._by_name[name]) is not None:
                self._host_zone[target.host] = zid
                return zid
        raise CloudflareError(Answer(
            Outcome.UNKNOWN_HOST, None, f"no zone for {target.host} is visible to this token",
            self.label))

    async def _record(self, target: Target, family: int) -> tuple[str, dict[str, Any]]:
        zone = await self._zone_id(target)
        found = await self._call("GET", f"/zones/{zone}/dns_records",
                                 params={"type": RDTYPE[family], "name": target.host})
        if not found:
            raise CloudflareError(Answer(
                Outcome.UNKNOWN_HOST, None,
                f"no {RDTYPE[family]} record named {target.host}: create it once in "
                "Cloudflare (proxied or not, as you want it)", self.label))
        record: dict[str, Any] = found[0]
        if record.get("proxied"):
            self.proxied.add((target.host, family))
        else:
            self.proxied.discard((target.host, family))
        return zone, record

    # --- the provider --------------------------------------------------------------------

    async def update(self, target: Target, family: int, ip: str) -> Answer:
        try:
            zone, record = await self._record(target, family)
            if record.get("content") == ip:
                updated, outcome = record, Outcome.UNCHANGED
            else:
                # Only the content: a PUT would reset what it does not name (proxied
                # falls back to false).
                updated = await self._call("PATCH", f"/zones/{zone}/dns_records/{record['id']}",
                                           body={"content": ip})
                outcome = Outcome.UPDATED
        except CloudflareError as exc:
            return exc.answer
        proxied = bool(updated.get("proxied"))
        text = f"{RDTYPE[family]} {target.host} = {updated.get('content')}" + (
            ", proxied" if proxied else "")
        return Answer(outcome, None, text, self.label, dns_verifiable=not proxied)

    async def lookup(self, target: Target, family: int) -> Published | None:
        """A proxied record as the API holds it (DNS shows Cloudflare's addresses)."""
        if (target.host, family) not in self.proxied:
            return None
        where = "Cloudflare API (proxied)"
        try:
            _, record = await self._record(target, family)
        except CloudflareError as exc:
            return Published(RDTYPE[family], ((where, None, exc.answer.describe()),))
        if not record.get("proxied"):
            return None
        return Published(RDTYPE[family], ((where, frozenset({record["content"]}), None),))
