"""One enrolled agent as the hub sees it: polled for status, checks and pending approvals
with backoff, and followed on its event WebSocket.

Every answer is read over mutual TLS: the hub shows its client certificate, and the only
certificate it accepts from the agent is the very one pinned at enrollment (the context
trusts that leaf alone, `VERIFY_X509_PARTIAL_CHAIN`): another agent's certificate, though
signed by the same CA, is refused in the handshake. Events carry the agent's store
ids, which survive its restarts, so after a reconnect the hub catches up from the recent
list and skips what it has already relayed: nothing is shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from nebula.logs import get_logger

log = get_logger(component="fleet")

Relay = Callable[[str, dict[str, Any]], Awaitable[None]]


class AgentError(Exception):
    """The agent answered with an error status (the body's detail is the message)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {detail or body}")


def pinned_context(certificate: str, client: tuple[Path, Path]) -> ssl.SSLContext:
    """Trusts `certificate` alone (the agent's, as issued) and shows the hub's client
    certificate. Host names are not checked: the pin is stronger, and homelab agents are
    often reached by bare address."""
    context = ssl.create_default_context(cadata=certificate)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.check_hostname = False
    context.load_cert_chain(*client)
    return context


def describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message or exc}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS: {exc.certificate_error}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass
class HostRecord:
    name: str
    url: str
    fingerprint: str
    certificate: str
    token_id: int
    enrolled: float


@dataclass
class HostView:
    """What the hub last learnt of one agent."""

    state: str = "pending"          # pending (never reached), up, down, revoked
    error: str = ""
    last_seen: float | None = None
    status: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0


class HostPoller:
    def __init__(self, record: HostRecord, token: str, session: aiohttp.ClientSession,
                 client: tuple[Path, Path], settings: dict[str, Any], relay: Relay) -> None:
        self.record, self.token, self.session = record, token, session
        self.ssl = pinned_context(record.certificate, client)
        self.interval = float(settings["poll_interval"])
        self.max_backoff = float(settings["max_backoff"])
        self.timeout = aiohttp.ClientTimeout(total=float(settings["timeout"]))
        self.relay = relay
        self.view = HostView()
        self.last_event_id = 0
        # Whether last_event_id marks where this hub began to follow the host: events after
        # it are relayed, the agent's history before it is not.
        self.following = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.revoked = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._poll_loop(), name=f"fleet-poll-{self.name}"),
                       asyncio.create_task(self._event_loop(), name=f"fleet-ws-{self.name}")]

    @property
    def name(self) -> str:
        return self.record.name

    async def stop(self, revoked: bool = False) -> None:
        # Flag first: an answer in flight is dropped, not recorded, once revoked.
        self.revoked = revoked
        if revoked:
            self.view.state = "revoked"
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def poll_soon(self) -> None:
        self._wake.set()

    def backoff(self) -> float:
        if not self.view.failures:
            return self.interval
        return float(min(self.max_backoff, self.interval * 2 ** (self.view.failures - 1)))

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One call to the agent's API through the pinned, mutually authenticated channel."""
        async with self.session.request(method, self.record.url + path, json=body,
                                        headers=self.headers, timeout=self.timeout,
                                        ssl=self.ssl) as resp:
            data = await resp.json(content_type=None)
            return resp.status, data

    async def get(self, path: str) -> Any:
        status, data = await self.request("GET", path)
        if status >= 400:
            raise AgentError(status, data)
        return data

    async def poll(self) -> None:
        status = await self.get("/api/v1/status")
        checks = (await self.get("/api/v1/checks"))["checks"]
        approvals = ((await self.get("/api/v1/approvals?status=pending"))["approvals"]
                     if status.get("pending_approvals") else [])
        if self.revoked:
            return
        if not self.following:
            # The host counts as up from here, so what it publishes from here on is relayed
            # even if the event stream connects a moment later.
            latest = (await self.get("/api/v1/events?limit=1"))["events"]
            self._follow_from(latest)
        was, before = self.view.state, self._shown()
        self.view = HostView("up", "", time.time(), status, checks, approvals, 0)
        if was != "up":
            log.info("fleet.host_up", host=self.name)
            await self.relay("host.up", {"host": self.name, "was": was})
        elif self._shown() != before:
            # The panel's fleet pages refresh on it (nebula.builtins.fleet.web).
            await self.relay("host.changed", {"host": self.name})

    async def _poll_loop(self) -> None:
        while not self.revoked:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(exc)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.backoff())

    async def _failed(self, exc: Exception) -> None:
        view = self.view
        view.failures += 1
        view.error = describe(exc)
        if view.state != "down":
            view.state = "down"
            log.warning("fleet.host_down", host=self.name, error=view.error)
            await self.relay("host.down", {"host": self.name, "error": view.error})

    async def _event_loop(self) -> None:
        failures = 0
        while not self.revoked:
            try:
                await self._follow()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.info("fleet.events_lost", host=self.name, error=describe(exc))
            # A dropped stream says the agent may be gone: poll now rather than later.
            self.poll_soon()
            await asyncio.sleep(min(self.max_backoff, self.interval * 2 ** min(failures, 8)
                                    ) if failures else 1.0)

    async def _follow(self) -> None:
        async with self.session.ws_connect(self.record.url + "/api/v1/events",
                                           headers=self.headers, heartbeat=30, ssl=self.ssl,
                                           timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            # Subscribed first, then the recent list: what happened while we were away
            # and what happens from now on, each event once (by id).
            recent = (await self.get("/api/v1/events?limit=200"))["events"]
            self._follow_from(recent)
            for event in recent:
                await self._relay_event(event)
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._relay_event(json.loads(msg.data))
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break

    def _follow_from(self, events: list[dict[str, Any]]) -> None:
        """The first time: relay only what comes after `events` (not the agent's history)."""
        if not self.following:
            self.following = True
            self.last_event_id = max((int(e["id"]) for e in events), default=0)

    async def _relay_event(self, event: dict[str, Any]) -> None:
        event_id = int(event.get("id") or 0)
        if (event_id and event_id <= self.last_event_id) or self.revoked:
            return
        self.last_event_id = max(self.last_event_id, event_id)
        await self.relay("event", {"host": self.name, "event": event})
        if event.get("topic", "").startswith(("check.", "approval.", "action.")):
            self.poll_soon()

    def _shown(self) -> tuple[Any, ...]:
        """What the fleet pages show of this host, to tell whether a poll changed it (not
        the summaries' numbers, which change on every poll)."""
        view = self.view
        return (tuple((c.get("name"), c.get("status")) for c in view.checks),
                tuple(a.get("id") for a in view.approvals), view.status.get("version"))

    def summary(self) -> dict[str, Any]:
        view, status = self.view, self.view.status
        counts: dict[str, int] = {}
        for check in view.checks:
            key = str(check.get("status", "unknown"))
            counts[key] = counts.get(key, 0) + 1
        return {"name": self.name, "url": self.record.url, "kind": "agent",
                "state": view.state,
                "error": view.error, "last_seen": view.last_seen,
                "version": status.get("version"), "checks": counts,
                "pending_approvals": len(view.approvals), "enrolled": self.record.enrolled}
