"""The hub: its CA, one-time enrollment codes, the enrolled hosts and their pollers, and
actions forwarded to a host's own gate.

Hosts live in the plugin's key-value area (`hosts`), each agent's API token in the
encrypted secret store (`token:<host>`); codes are kept only as SHA-256 digests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import aiohttp

from nebula.builtins.fleet.grants import Grants, HostRole
from nebula.builtins.fleet.pki import Authority, BadRequest, fingerprint
from nebula.builtins.fleet.poller import HostPoller, HostRecord
from nebula.builtins.fleet.ssh import SshHost
from nebula.logs import get_logger

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.context import PluginContext

log = get_logger(component="fleet")
CODE_BYTES = 16
# Wrong codes answered before /enroll refuses everyone for a minute.
MAX_WRONG_CODES = 10


class EnrollRefused(Exception):
    """The enrollment is refused; the message says why (shown to the enrolling host)."""


class UnknownHost(KeyError):
    pass


class ReadOnlyHost(Exception):
    """An agentless host: the hub reads it and does nothing else there."""


class NoRight(Exception):
    """The caller lacks the role on that host (nebula.builtins.fleet.grants)."""

    def __init__(self, caller: str | None, host: str, needed: HostRole) -> None:
        super().__init__(f"{caller or 'this caller'} has no {needed} right on host {host!r} "
                         f"(the hub's owner grants one: nebula fleet grant USER {host} "
                         f"--role {needed})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.strip().upper().encode()).hexdigest()


def split_code(code: str) -> tuple[str, str]:
    """`SECRET.CAFINGERPRINT` -> (secret, CA fingerprint prefix)."""
    secret, _, ca = code.strip().partition(".")
    return secret, ca.lower()


# asyncio gives every TLS connection a 256 KiB read buffer (asyncio.sslproto, CPython
# 3.11+); a hub holds two connections per agent (polls and the event stream), so 200
# agents cost ~100 MB in buffers alone. A TLS record carries at most 16 KiB, so 32 KiB
# reads lose nothing (bench/fleet_hub.py: hub RSS 215 -> see bench/RESULTS.md).
TLS_READ_BUFFER = 32 * 1024


def _smaller_tls_buffers() -> None:
    from asyncio import sslproto

    if getattr(sslproto.SSLProtocol, "max_size", 0) > TLS_READ_BUFFER:
        sslproto.SSLProtocol.max_size = TLS_READ_BUFFER  # type: ignore[attr-defined]


class Hub:
    def __init__(self, ctx: PluginContext, agent: Agent) -> None:
        _smaller_tls_buffers()
        self.ctx, self.agent = ctx, agent
        self.settings = dict(ctx.config)
        self.ca = Authority.open(agent.config.data_dir / "fleet")
        self.pollers: dict[str, HostPoller | SshHost] = {}
        self.grants = Grants(ctx.kv)
        self._wrong: list[float] = []
        self._lock = asyncio.Lock()
        self.client_cert = self.ca.hub_client()
        # Each request carries its host's pinned context (nebula.builtins.fleet.poller).
        # Kept alive across polls (aiohttp's default, 15 s, equals the default interval, so
        # every poll paid a new TLS handshake); agents keep idle connections for 75 s.
        keepalive = min(60.0, max(15.0, float(self.settings["poll_interval"]) * 3))
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            limit=0, limit_per_host=4, keepalive_timeout=keepalive))

    async def start(self) -> None:
        await self.grants.load()
        self.agent.bus.filters.append(self._event_visible)
        for record in (await self._records()).values():
            await self._watch(record)
        for spec in self.settings["ssh"]:
            ssh = SshHost({"port": 22, **spec}, self.settings)
            self.pollers[ssh.name] = ssh
            ssh.start()

    def _event_visible(self, caller: str, event: dict[str, Any]) -> bool:
        """The hub's own events about a host (`fleet.event` relaying its events,
        `fleet.host.*`) reach only callers who may see that host."""
        host = event["data"].get("host") if event["topic"].startswith("fleet.") and \
            isinstance(event.get("data"), dict) else None
        return host is None or self.grants.allows(caller, str(host), HostRole.VIEWER)

    async def aclose(self) -> None:
        if self._event_visible in self.agent.bus.filters:
            self.agent.bus.filters.remove(self._event_visible)
        await asyncio.gather(*(p.stop() for p in self.pollers.values()))
        self.pollers.clear()
        await self.session.close()

    # -- enrollment -------------------------------------------------------------------

    async def new_code(self) -> dict[str, Any]:
        text = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().rstrip("=")
        expires = time.time() + float(self.settings["code_ttl"])
        async with self._lock:
            codes = {d: e for d, e in (await self.ctx.kv.get("codes", {})).items()
                     if e > time.time()}
            codes[_digest(text)] = expires
            await self.ctx.kv.set("codes", codes)
        # The CA's fingerprint travels with the code, so the enrolling host can check it
        # talks to this hub even over a plain-HTTP first contact.
        return {"code": f"{text}.{self.ca.fingerprint[:32]}", "expires": expires,
                "ca_fingerprint": self.ca.fingerprint}

    async def _use_code(self, secret: str) -> bool:
        now = time.time()
        self._wrong = [t for t in self._wrong if t > now - 60]
        if len(self._wrong) >= MAX_WRONG_CODES:
            raise EnrollRefused("too many wrong codes; try again in a minute")
        async with self._lock:
            codes = await self.ctx.kv.get("codes", {})
            digest = _digest(secret)
            match = next((d for d in codes if hmac.compare_digest(d, digest)), None)
            if match is None or codes[match] <= now:
                self._wrong.append(now)
                return False
            del codes[match]  # one time: used up before anything else can await
            await self.ctx.kv.set("codes", codes)
            return True

    async def enroll(self, body: Mapping[str, Any]) -> dict[str, Any]:
        secret, _ = split_code(body["code"])
        if not await self._use_code(secret):
            raise EnrollRefused("the enrollment code is wrong, used or expired")
        name = body["name"]
        records = await self._records()
        if name in records or name in self.pollers:
            raise EnrollRefused(f"a host named {name!r} is enrolled; remove it first "
                                f"(nebula fleet remove {name})")
        try:
            cert = self.ca.sign_agent(body["csr"], name)
        except BadRequest as exc:
            raise EnrollRefused(str(exc)) from None
        record = HostRecord(name, body["url"].rstrip("/"), fingerprint(cert), cert,
                            int(body["token_id"]), time.time())
        self.ctx.add_secret(body["token"])
        await self.ctx.secrets.set(f"token:{name}", body["token"])
        records[name] = record
        await self._save(records)
        await self._watch(record)
        await self.agent.actions.audit("fleet", "fleet.enroll", {"host": name,
                                       "url": record.url}, "ok", None, None,
                                       f"pinned {record.fingerprint}")
        await self.ctx.emit("host.enrolled", {"host": name, "url": record.url})
        return {"name": name, "certificate": cert, "ca": self.ca.pem,
                "fingerprint": record.fingerprint}

    async def remove(self, name: str, actor: str) -> dict[str, Any]:
        """Forget a host at once: its poller stops (an answer in flight is dropped), its
        pin and token go; then the hub asks the agent to revoke the token it held, so a
        copy of it is refused there too. The agent may be down: that part is best effort
        and the answer says whether it happened."""
        records = await self._records()
        if name in self.pollers:
            self.require(actor, name, HostRole.ADMIN)
        if name not in records:
            if isinstance(self.pollers.get(name), SshHost):
                raise ReadOnlyHost(f"{name} is an agentless host from [[fleet.ssh]]; remove "
                                   "it from the config")
            raise UnknownHost(name)
        record = records.pop(name)
        poller = self.pollers.pop(name, None)
        revoked_remote = False
        if isinstance(poller, HostPoller):
            await poller.stop(revoked=True)
            try:
                status, _ = await poller.request("DELETE", f"/api/v1/tokens/{record.token_id}")
                revoked_remote = status < 300
            except Exception as exc:  # down, or already gone: the hub forgets it anyway
                log.info("fleet.revoke_remote_failed", host=name, error=str(exc))
        await self._save(records)
        await self.ctx.secrets.delete(f"token:{name}")
        revoked = await self.ctx.kv.get("revoked", [])
        await self.ctx.kv.set("revoked", [*revoked, record.fingerprint])
        await self.agent.actions.audit(actor, "fleet.remove", {"host": name}, "ok", None,
                                       None, f"token revoked on the agent: {revoked_remote}")
        await self.ctx.emit("host.removed", {"host": name})
        return {"name": name, "removed": True, "token_revoked_on_agent": revoked_remote}

    async def _records(self) -> dict[str, HostRecord]:
        raw = await self.ctx.kv.get("hosts", {})
        return {name: HostRecord(**value) for name, value in raw.items()}

    async def _save(self, records: dict[str, HostRecord]) -> None:
        await self.ctx.kv.set("hosts", {n: asdict(r) for n, r in records.items()})

    async def _watch(self, record: HostRecord) -> None:
        token = await self.ctx.secrets.get(f"token:{record.name}")
        if token is None:
            log.warning("fleet.token_missing", host=record.name)
            return
        poller = HostPoller(record, token, self.session, self.client_cert, self.settings,
                            self._relay)
        self.pollers[record.name] = poller
        poller.start()

    async def _relay(self, topic: str, data: dict[str, Any]) -> None:
        await self.ctx.emit(topic, data)

    # -- reading ----------------------------------------------------------------------

    def poller(self, name: str) -> HostPoller | SshHost:
        try:
            return self.pollers[name]
        except KeyError:
            raise UnknownHost(name) from None

    def require(self, caller: str | None, name: str, needed: HostRole) -> None:
        """Refuse (NoRight) unless `caller` has `needed` on host `name`; an unknown host
        is UnknownHost first."""
        self.poller(name)
        if not self.grants.allows(caller, name, needed):
            raise NoRight(caller, name, needed)

    def _visible(self, caller: str | None) -> list[HostPoller | SshHost]:
        return [p for p in self.pollers.values()
                if self.grants.allows(caller, p.name, HostRole.VIEWER)]

    def overview(self, caller: str | None) -> dict[str, Any]:
        """The hosts `caller` may see (a viewer right or more on each)."""
        hosts = [p.summary() for p in sorted(self._visible(caller), key=lambda p: p.name)]
        states: dict[str, int] = {}
        for host in hosts:
            states[host["state"]] = states.get(host["state"], 0) + 1
        return {"hosts": hosts, "states": states, "count": len(hosts)}

    def host(self, name: str, caller: str | None) -> dict[str, Any]:
        self.require(caller, name, HostRole.VIEWER)
        poller = self.poller(name)
        return {**poller.summary(), "status": poller.view.status,
                "checks": poller.view.checks, "approvals": poller.view.approvals}

    def checks(self, status: str | None, caller: str | None) -> list[dict[str, Any]]:
        return [{"host": p.name, **c} for p in self._visible(caller) for c in p.view.checks
                if status is None or c.get("status") == status]

    def approvals(self, caller: str | None) -> list[dict[str, Any]]:
        return [{"host": p.name, **a} for p in self._visible(caller)
                for a in p.view.approvals]

    def prometheus(self, csr: str) -> dict[str, Any]:
        """File-based service discovery for every enrolled host, and the scrape
        certificate (from the caller's CSR: its key stays with the caller) that the
        agents' TLS listeners let read /metrics."""
        from nebula.http.client_certs import SCRAPE_NAME

        try:
            certificate = self.ca.sign_client(csr, SCRAPE_NAME)
        except BadRequest as exc:
            raise EnrollRefused(str(exc)) from None
        agents = [p for p in self.pollers.values() if isinstance(p, HostPoller)]
        targets = [{"targets": [urllib.parse.urlsplit(p.record.url).netloc],
                    "labels": {"nebula_host": p.name}}
                   for p in sorted(agents, key=lambda p: p.name)]
        return {"targets": targets, "ca": self.ca.pem, "certificate": certificate}

    # -- acting, always through the target's own gate ----------------------------------

    async def forward(self, name: str, actor: str, what: str, path: str,
                      body: dict[str, Any], shown: Mapping[str, Any],
                      needed: HostRole) -> tuple[int, Any]:
        """POST `body` to host `name` as the hub's token there and audit it here too, if
        `actor` has `needed` there (NoRight, audited as refused, if not). The agent
        decides (a destructive action comes back pending_approval, 202)."""
        poller = self.poller(name)
        if not self.grants.allows(actor, name, needed):
            await self.agent.actions.audit(actor, what, shown, "refused", None, None,
                                           f"{name}: no {needed} right on this host")
            raise NoRight(actor, name, needed)
        if isinstance(poller, SshHost):
            raise ReadOnlyHost(f"{name} is an agentless host, read over SSH: nothing can be "
                               "run there from the hub")
        try:
            status, answer = await poller.request("POST", path, body)
        except Exception as exc:
            await self.agent.actions.audit(actor, what, shown, "unreachable", None, None,
                                           f"{name}: {exc}")
            raise
        outcome = answer.get("status") if isinstance(answer, dict) else None
        approval = answer.get("approval", {}).get("id") if isinstance(answer, dict) and \
            isinstance(answer.get("approval"), dict) else None
        await self.agent.actions.audit(actor, what, shown, str(outcome or status), None,
                                       approval, f"on {name}: HTTP {status}")
        poller.poll_soon()
        return status, answer
