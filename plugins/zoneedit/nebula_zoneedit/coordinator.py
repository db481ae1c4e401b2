"""The plugin's runtime: one observation (echo services and DNS) shared by the check, panels,
tools and the public-IP action (a `nebula.helpers.coordinator.Coordinator`); and the update
cycle that acts on it.

Per host and address family it remembers, in the store, when it last asked ZoneEdit, until
when it backs off, and the last update that failed, so a restart never breaks ZoneEdit's
minimum interval and the check can say why a record still differs.

The public IP it acts on is published as the event `zoneedit.public_ip` at the first
observation and whenever it changes: other plugins (domains) follow it there, instead of
calling the `zoneedit.public_ip` action, which writes an audit row per call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nebula.api import PluginContext
from nebula.helpers import nameservers
from nebula.helpers.coordinator import Coordinator
from nebula_zoneedit import client, echo, published
from nebula_zoneedit.answers import Answer, Outcome
from nebula_zoneedit.echo import Consensus
from nebula_zoneedit.published import Published
from nebula_zoneedit.schema import host_zones

# After a refusal of the credentials, asking again soon only earns 702 loops.
AUTH_RETRY = 3600.0
MAX_BACKOFF = 86400.0
VERIFY_POLL = 0.5


@dataclass(frozen=True)
class Observation:
    taken: float
    consensus: dict[int, Consensus]
    published: dict[tuple[str, int], Published]

    def public_ip(self) -> dict[str, Any]:
        """The agreed public IP per family with each service's answer: the action's
        answer and the event's data."""
        return {"taken": round(self.taken, 3),
                **{f"ipv{family}": c.public() for family, c in sorted(self.consensus.items())}}

    def public_ip_key(self) -> dict[int, tuple[str | None, str | None]]:
        """What a change of the published public IP is: the address, or why there is none
        (an agreement's own wording, such as how many services agreed, is no change)."""
        return {family: (c.ip, None if c.agreed else c.reason)
                for family, c in self.consensus.items()}


@dataclass
class AuthFailure:
    at: float
    message: str


def _key(host: str, family: int) -> str:
    return f"{host}/ipv{family}"


class Updater:
    """Returned by `nebula_startup`; the core closes it (`aclose`) when the plugin stops."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.hosts = host_zones(ctx.config)
        self.resolvers = [nameservers.parse(spec, ctx.config["dns_port"])
                          for spec in ctx.config["resolvers"]]
        self.families = (4, 6) if ctx.config["ipv6"] else (4,)
        self.auth_failure: AuthFailure | None = None
        self._published: dict[int, tuple[str | None, str | None]] | None = None
        self._observation = Coordinator(self._observe, max_age=ctx.config["interval"] / 2,
                                        name="zoneedit.observe", log=ctx.log)
        self._sync_lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Cancels an observation in flight (the HTTP session is the agent's)."""
        await self._observation.aclose()

    # --- observing ---------------------------------------------------------------------

    async def observe(self) -> Observation:
        """The latest observation if younger than half the interval; callers that arrive
        while one is being taken share it."""
        return await self._observation.get()

    async def observe_now(self) -> Observation:
        """A new observation (or the one being taken), whatever the last one's age."""
        return await self._observation.refresh()

    async def _observe(self) -> Observation:
        cfg = self.config
        services = {4: cfg["ipv4_services"], 6: cfg["ipv6_services"]}
        consensus, lookups = await asyncio.gather(
            asyncio.gather(*(echo.discover(self.ctx.http, services[f], f, cfg["min_agreeing"],
                                           cfg["timeout"]) for f in self.families)),
            asyncio.gather(*(self._lookup(h, f) for h in self.hosts for f in self.families)))
        pairs = [(h, f) for h in self.hosts for f in self.families]
        obs = Observation(time.time(), {c.family: c for c in consensus},
                          dict(zip(pairs, lookups, strict=True)))
        if (key := obs.public_ip_key()) != self._published:
            await self.ctx.emit("public_ip", obs.public_ip())
            self._published = key
        return obs

    async def _lookup(self, host: str, family: int) -> Published:
        return await published.lookup(host, family, self.resolvers, self.config["timeout"])

    # --- state in the store --------------------------------------------------------------

    async def states(self) -> dict[str, dict[str, Any]]:
        return await self.ctx.kv.get("hosts", {})

    async def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = await self.ctx.kv.get("history", [])
        newest_first = records[::-1]
        return newest_first[:limit] if limit else newest_first

    async def _record(self, record: dict[str, Any]) -> None:
        records = await self.ctx.kv.get("history", [])
        records.append(record)
        await self.ctx.kv.set("history", records[-self.config["history_size"]:])

    # --- updating ------------------------------------------------------------------------

    async def sync(self, *, force: bool = False, only: Iterable[str] | None = None,
                   trigger: str = "schedule") -> list[dict[str, Any]]:
        """Compare every host with the agreed public IP and update those that differ (all
        of them with `force`), within ZoneEdit's limits. One result per host and family."""
        async with self._sync_lock:
            wanted = {h.lower().rstrip(".") for h in only} if only else set(self.hosts)
            if unknown := wanted - set(self.hosts):
                raise ValueError(f"not configured: {', '.join(sorted(unknown))}; "
                                 f"configured: {', '.join(self.hosts)}")
            obs = await self.observe_now()
            states = await self.states()
            results = []
            for family in self.families:
                consensus = obs.consensus[family]
                for host in (h for h in self.hosts if h in wanted):
                    result = await self._sync_one(host, family, consensus,
                                                  obs.published[(host, family)], states,
                                                  force, trigger)
                    results.append({"host": host, "family": f"ipv{family}", **result})
            await self.ctx.kv.set("hosts", states)
            if any(r["action"] in ("updated", "unchanged") for r in results):
                self._observation.invalidate()  # DNS changed: the next read looks again
                await self.observe_now()
            return results

    async def _sync_one(self, host: str, family: int, consensus: Consensus, pub: Published,
                        states: dict[str, dict[str, Any]], force: bool,
                        trigger: str) -> dict[str, Any]:
        now = time.time()
        if not consensus.agreed:
            return {"action": "skipped", "ip": None,
                    "message": f"public IP unknown: {consensus.reason}; not updating"}
        ip = consensus.ip
        assert ip is not None
        if not force:
            if not pub.readable:
                return {"action": "skipped", "ip": ip,
                        "message": f"cannot read DNS ({pub.describe()}); not updating"}
            if pub.matches(ip):
                return {"action": "in_sync", "ip": ip, "message": f"DNS serves {ip}"}
        if why := self._blocked(states.get(_key(host, family), {}), now):
            return {"action": "skipped", "ip": ip, "message": why}
        state = states.setdefault(_key(host, family), {})
        answer = await client.update(
            self.ctx.http, self.config["update_url"], self.config["username"],
            self.config["token"], host, ip, self.hosts[host], timeout=self.config["timeout"],
            min_interval=self.config["min_interval"])
        state["last_request"] = now
        self._remember(state, answer, ip, now)
        verified = None
        if answer.outcome.succeeded:
            verified = state["verified"] = await self._verify(host, family, ip)
        action = answer.outcome.value if answer.outcome.succeeded else "failed"
        message = answer.describe()
        if verified is False:
            message += f"; DNS does not serve {ip} yet after {self.config['verify_timeout']:g}s"
        record = {"t": now, "host": host, "family": f"ipv{family}", "ip": ip,
                  "previous": pub.describe(), "outcome": answer.outcome.value,
                  "code": answer.code, "message": message, "verified": verified,
                  "trigger": trigger}
        await self._record(record)
        log = self.ctx.log.info if answer.outcome.succeeded else self.ctx.log.warning
        log("zoneedit.update", host=host, ip=ip, outcome=answer.outcome.value,
            code=answer.code, verified=verified)
        return {"action": action, "ip": ip, "outcome": answer.outcome.value,
                "code": answer.code, "message": message, "verified": verified}

    def _blocked(self, state: dict[str, Any], now: float) -> str | None:
        """Why this host may not be sent to ZoneEdit now, if it may not."""
        if self.auth_failure and now - self.auth_failure.at < AUTH_RETRY:
            return (f"not retrying for {AUTH_RETRY - (now - self.auth_failure.at):.0f}s after "
                    f"{self.auth_failure.message}")
        if (until := state.get("backoff_until", 0)) > now:
            return f"backing off after a rate-limit answer for another {until - now:.0f}s"
        if (last := state.get("last_request")) and now - last < self.config["min_interval"]:
            return (f"minimum interval: next update allowed in "
                    f"{self.config['min_interval'] - (now - last):.0f}s")
        return None

    def _remember(self, state: dict[str, Any], answer: Answer, ip: str, now: float) -> None:
        # The check shows the last answer when it was a failure of this host's update (a
        # rate limit shows as the backoff, refused credentials for the whole account).
        if answer.outcome in (Outcome.FAILED, Outcome.UNKNOWN_HOST, Outcome.BAD_REQUEST):
            state["failure"] = {"at": now, "ip": ip, "message": answer.describe()}
        else:
            state.pop("failure", None)
        if answer.outcome is Outcome.RATE_LIMITED:
            # Doubling while ZoneEdit keeps refusing, from at least what it asked for.
            wait = max(answer.retry_after or 0.0, 2 * state.get("backoff", 0.0))
            state["backoff"] = min(wait, MAX_BACKOFF)
            state["backoff_until"] = now + state["backoff"]
            return
        state.pop("backoff", None)
        state.pop("backoff_until", None)
        if answer.outcome is Outcome.BAD_AUTH:
            self.auth_failure = AuthFailure(now, answer.describe())
        elif answer.outcome.succeeded:
            self.auth_failure = None
            state.update(ip=ip, last_success=now, verified=None)

    async def _verify(self, host: str, family: int, ip: str) -> bool:
        deadline = time.monotonic() + self.config["verify_timeout"]
        while True:
            if (await self._lookup(host, family)).matches(ip):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(VERIFY_POLL)
