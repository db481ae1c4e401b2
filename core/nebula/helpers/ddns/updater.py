"""The provider-neutral dynamic-DNS updater: one observation (echo services and DNS) shared
by the check, panels, tools and the public-IP action (a `Coordinator`), and the update cycle
that acts on it through each host's provider.

Per host and address family it remembers, in the plugin's store, when it last asked the
provider, until when it backs off, and the last update that failed, so a restart never
breaks a provider's minimum interval and the check can say why a record still differs.

The public IP it acts on is published as the plugin's event `public_ip` (`<plugin>.public_ip`)
at the first observation and whenever it changes: other plugins (domains) follow it there,
instead of calling the `<plugin>.public_ip` action, which writes an audit row per call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.ddns import echo
from nebula.helpers.ddns.echo import Consensus
from nebula.helpers.ddns.outcome import Answer, Outcome
from nebula.helpers.ddns.published import Published, lookup
from nebula.helpers.nameservers import Nameserver

# After a refusal of the credentials, asking again soon only earns more refusals (and, at
# ZoneEdit, 702 loops).
AUTH_RETRY = 3600.0
MAX_BACKOFF = 86400.0
VERIFY_POLL = 0.5
# The plugin's store key of the hosts added by the add_host action (the config's list is
# the user's: an action never edits it).
ADDED = "added_hosts"
# Requests in flight to one provider at once, after its first of a cycle went alone.
CONCURRENCY = 8


@dataclass(frozen=True)
class Target:
    """One configured host: its zone (None: the provider works it out), the provider that
    keeps it, the resolvers that tell what it serves, and the floor between two updates."""

    host: str
    zone: str | None
    provider: Provider
    resolvers: tuple[Nameserver, ...]
    min_interval: float


class Provider:
    """One account at one DNS provider. Subclasses set `label` (said in every message) and
    `key` (one per account: refused credentials pause that account only) and implement
    `update`; the core never sees a provider's secrets, which stay in its client."""

    label = "the provider"
    key = "provider"

    async def update(self, target: Target, family: int, ip: str) -> Answer:
        raise NotImplementedError

    async def delete(self, target: Target, family: int) -> Answer | None:
        """Deletes the host's record of this family at the provider; None: the provider's
        protocol cannot delete one (a dynamic-update URL only sets an address), so the
        record stays there."""
        return None

    async def lookup(self, target: Target, family: int) -> Published | None:
        """What the provider itself serves, when DNS cannot show it (a proxied Cloudflare
        name); None: ask DNS."""
        return None

    async def aclose(self) -> None:
        """Releases the provider's own clients (the agent's HTTP session is not its)."""


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


@dataclass(frozen=True)
class Settings:
    """What the updater needs of a plugin's config (both plugins' schemas have these)."""

    ipv4_services: Sequence[str]
    ipv6_services: Sequence[str]
    min_agreeing: int
    interval: float
    timeout: float
    verify_timeout: float
    history_size: int
    ipv6: bool = False
    ipv6_interface: str | None = None
    concurrency: int = CONCURRENCY

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        return cls(config["ipv4_services"], config["ipv6_services"], config["min_agreeing"],
                   config["interval"], config["timeout"], config["verify_timeout"],
                   config["history_size"], config.get("ipv6", False),
                   config.get("ipv6_interface"), config.get("concurrency", CONCURRENCY))


def state_key(host: str, family: int) -> str:
    return f"{host}/ipv{family}"


@dataclass
class _Cycle:
    """One sync's shared state: the per-host records kept in the store, the history rows
    it adds, and its options."""

    states: dict[str, dict[str, Any]]
    force: bool
    trigger: str
    records: list[dict[str, Any]] = field(default_factory=list)


class Updater:
    """Returned by a DDNS plugin's `nebula_startup`; the core closes it (`aclose`) when the
    plugin stops. `show_provider` adds each host's provider to results and rows (a plugin
    with several providers)."""

    def __init__(self, ctx: PluginContext, targets: Sequence[Target], settings: Settings,
                 *, show_provider: bool = False) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.settings = settings
        self.targets = {t.host: t for t in targets}
        self.hosts = list(self.targets)
        self.families = (4, 6) if settings.ipv6 else (4,)
        self.show_provider = show_provider
        self.auth_failures: dict[str, AuthFailure] = {}
        self._published: dict[int, tuple[str | None, str | None]] | None = None
        self._observation = Coordinator(self._observe, max_age=settings.interval / 2,
                                        name=f"{ctx.name}.observe", log=ctx.log)
        self._sync_lock = asyncio.Lock()
        self.configured = list(targets)
        self._added_loaded = False

    @property
    def providers(self) -> list[Provider]:
        return list({id(t.provider): t.provider for t in self.targets.values()}.values())

    async def aclose(self) -> None:
        """Cancels an observation in flight and closes the providers' own clients."""
        await self._observation.aclose()
        await asyncio.gather(*(p.aclose() for p in self.providers))

    def auth_failure(self, provider: Provider, now: float | None = None) -> AuthFailure | None:
        """The refusal of this account's credentials, while it still pauses requests."""
        failure = self.auth_failures.get(provider.key)
        now = time.time() if now is None else now
        return failure if failure and now - failure.at < AUTH_RETRY else None

    def current_auth_failures(self) -> list[AuthFailure]:
        return [f for p in self.providers if (f := self.auth_failure(p))]

    # --- observing ---------------------------------------------------------------------

    async def observe(self) -> Observation:
        """The latest observation if younger than half the interval; callers that arrive
        while one is being taken share it."""
        return await self._observation.get()

    async def observe_now(self) -> Observation:
        """A new observation (or the one being taken), whatever the last one's age."""
        return await self._observation.refresh()

    async def _observe(self) -> Observation:
        await self._load_added()
        s = self.settings
        services = {4: s.ipv4_services, 6: s.ipv6_services}
        pairs = [(h, f) for h in self.hosts for f in self.families]
        consensus, lookups = await asyncio.gather(
            asyncio.gather(*(echo.discover(self.ctx.http, services[f], f, s.min_agreeing,
                                           s.timeout, s.ipv6_interface if f == 6 else None)
                             for f in self.families)),
            asyncio.gather(*(self._lookup(h, f) for h, f in pairs)))
        obs = Observation(time.time(), {c.family: c for c in consensus},
                          dict(zip(pairs, lookups, strict=True)))
        if (key := obs.public_ip_key()) != self._published:
            await self.ctx.emit("public_ip", obs.public_ip())
            self._published = key
        return obs

    async def _lookup(self, host: str, family: int) -> Published:
        target = self.targets[host]
        if (own := await target.provider.lookup(target, family)) is not None:
            return own
        return await lookup(host, family, target.resolvers, self.settings.timeout)

    # --- state in the store --------------------------------------------------------------

    async def states(self) -> dict[str, dict[str, Any]]:
        return await self.ctx.kv.get("hosts", {})

    async def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = await self.ctx.kv.get("history", [])
        newest_first = records[::-1]
        return newest_first[:limit] if limit else newest_first

    async def _record(self, new: list[dict[str, Any]]) -> None:
        if new:
            records = await self.ctx.kv.get("history", [])
            records.extend(sorted(new, key=lambda r: r["t"]))
            await self.ctx.kv.set("history", records[-self.settings.history_size:])

    # --- updating ------------------------------------------------------------------------

    async def sync(self, *, force: bool = False, only: Iterable[str] | None = None,
                   trigger: str = "schedule") -> list[dict[str, Any]]:
        """Compare every host with the agreed public IP and update those that differ (all
        of them with `force`), within each provider's limits. One result per host and
        family, in the order of the config.

        Per provider the first request of a cycle goes alone, so refused credentials stop
        the rest of that account's hosts; the others then go `concurrency` at a time."""
        await self._load_added()
        async with self._sync_lock:
            wanted = {h.lower().rstrip(".") for h in only} if only else set(self.hosts)
            if unknown := wanted - set(self.hosts):
                raise ValueError(f"not configured: {', '.join(sorted(unknown))}; "
                                 f"configured: {', '.join(self.hosts)}")
            obs = await self.observe_now()
            if any((h, f) not in obs.published for h in wanted for f in self.families):
                obs = await self.observe_now()  # one taken before a host was added
            cycle = _Cycle(await self.states(), force, trigger)
            jobs = [(h, f) for f in self.families for h in self.hosts if h in wanted]
            by_provider: dict[str, list[tuple[str, int]]] = {}
            for host, family in jobs:
                by_provider.setdefault(self.targets[host].provider.key, []).append((host, family))
            done: dict[tuple[str, int], dict[str, Any]] = {}
            await asyncio.gather(*(self._sync_provider(items, obs, cycle, done)
                                   for items in by_provider.values()))
            await self.ctx.kv.set("hosts", cycle.states)
            await self._record(cycle.records)
            results = [self._labelled(host, family, done[(host, family)])
                       for host, family in jobs]
            if any(r["action"] in ("updated", "unchanged") for r in results):
                self._observation.invalidate()  # DNS changed: the next read looks again
                await self.observe_now()
            return results

    def _labelled(self, host: str, family: int, result: dict[str, Any]) -> dict[str, Any]:
        labels: dict[str, Any] = {"host": host, "family": f"ipv{family}"}
        if self.show_provider:
            labels["provider"] = self.targets[host].provider.label
        return {**labels, **result}

    async def _sync_provider(self, items: list[tuple[str, int]], obs: Observation,
                             cycle: _Cycle, done: dict[tuple[str, int], dict[str, Any]]) -> None:
        slots = asyncio.Semaphore(self.settings.concurrency)
        first_sent = False

        async def one(host: str, family: int) -> None:
            async with slots:
                done[(host, family)] = await self._sync_one(
                    self.targets[host], family, obs.consensus[family],
                    obs.published[(host, family)], cycle)

        rest = list(items)
        while rest and not first_sent:  # until one request has reached the provider
            host, family = rest.pop(0)
            await one(host, family)
            first_sent = "outcome" in done[(host, family)]
        await asyncio.gather(*(one(h, f) for h, f in rest))

    async def _sync_one(self, target: Target, family: int, consensus: Consensus,
                        pub: Published, cycle: _Cycle) -> dict[str, Any]:
        now = time.time()
        host = target.host
        if not consensus.agreed:
            return {"action": "skipped", "ip": None,
                    "message": f"public IP unknown: {consensus.reason}; not updating"}
        ip = consensus.ip
        assert ip is not None
        if not cycle.force:
            if not pub.readable:
                return {"action": "skipped", "ip": ip,
                        "message": f"cannot read DNS ({pub.describe()}); not updating"}
            if pub.matches(ip):
                return {"action": "in_sync", "ip": ip, "message": f"DNS serves {ip}"}
        states = cycle.states
        if why := self._blocked(target, states.get(state_key(host, family), {}), now):
            return {"action": "skipped", "ip": ip, "message": why}
        state = states.setdefault(state_key(host, family), {})
        state["last_request"] = now
        answer = await target.provider.update(target, family, ip)
        self._remember(target.provider, state, answer, ip, now)
        verified = None
        message = answer.describe()
        if answer.outcome.succeeded:
            if answer.dns_verifiable:
                verified = await self._verify(target, family, ip)
                if not verified:
                    message += (f"; DNS does not serve {ip} yet after "
                                f"{self.settings.verify_timeout:g}s")
            else:
                verified = (await self._lookup(host, family)).matches(ip)
            state["verified"] = verified
        action = answer.outcome.value if answer.outcome.succeeded else "failed"
        cycle.records.append({
            "t": now, "host": host, "family": f"ipv{family}", "ip": ip,
            "previous": pub.describe(), "outcome": answer.outcome.value, "code": answer.code,
            "message": message, "verified": verified, "trigger": cycle.trigger,
            **({"provider": target.provider.label} if self.show_provider else {})})
        log = self.ctx.log.info if answer.outcome.succeeded else self.ctx.log.warning
        log(f"{self.ctx.name}.update", host=host, ip=ip, provider=target.provider.label,
            outcome=answer.outcome.value, code=answer.code, verified=verified)
        return {"action": action, "ip": ip, "outcome": answer.outcome.value,
                "code": answer.code, "message": message, "verified": verified}

    def _blocked(self, target: Target, state: Mapping[str, Any], now: float) -> str | None:
        """Why this host may not be sent to its provider now, if it may not."""
        if failure := self.auth_failure(target.provider, now):
            return (f"not retrying for {AUTH_RETRY - (now - failure.at):.0f}s after "
                    f"{failure.message}")
        if (until := state.get("backoff_until", 0)) > now:
            return f"backing off after a rate-limit answer for another {until - now:.0f}s"
        if (last := state.get("last_request")) and now - last < target.min_interval:
            return (f"minimum interval: next update allowed in "
                    f"{target.min_interval - (now - last):.0f}s")
        return None

    def _remember(self, provider: Provider, state: dict[str, Any], answer: Answer, ip: str,
                  now: float) -> None:
        if answer.outcome.host_failure:
            state["failure"] = {"at": now, "ip": ip, "message": answer.describe()}
        else:
            state.pop("failure", None)
        if answer.outcome is Outcome.RATE_LIMITED:
            # Doubling while the provider keeps refusing, from at least what it asked for.
            wait = max(answer.retry_after or 0.0, 2 * state.get("backoff", 0.0))
            state["backoff"] = min(wait, MAX_BACKOFF)
            state["backoff_until"] = now + state["backoff"]
            return
        state.pop("backoff", None)
        state.pop("backoff_until", None)
        if answer.outcome is Outcome.BAD_AUTH:
            self.auth_failures[provider.key] = AuthFailure(now, answer.describe())
        elif answer.outcome.succeeded:
            self.auth_failures.pop(provider.key, None)
            state.update(ip=ip, last_success=now, verified=None)

    async def _verify(self, target: Target, family: int, ip: str) -> bool:
        deadline = time.monotonic() + self.settings.verify_timeout
        while True:
            if (await self._lookup(target.host, family)).matches(ip):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(VERIFY_POLL)

    # --- hosts added by action -----------------------------------------------------------

    def holder(self, host: str) -> Target | None:
        """The configured host whose zone holds `host` (its zone, else its parent domain):
        an added host is kept by that host's provider and read from its resolvers."""
        for target in self.configured:
            zone = target.zone or target.host.partition(".")[2]
            if zone and (host == zone or host.endswith("." + zone)):
                return target
        return None

    def _adopt(self, host: str, like: Target) -> None:
        self.targets[host] = Target(host, like.zone, like.provider, like.resolvers,
                                    like.min_interval)
        if host not in self.hosts:
            self.hosts.append(host)
        self._observation.invalidate()

    def _drop(self, host: str) -> None:
        self.targets.pop(host, None)
        if host in self.hosts:
            self.hosts.remove(host)
        self._observation.invalidate()

    async def _load_added(self) -> None:
        if self._added_loaded:
            return
        self._added_loaded = True
        for host in await self.ctx.kv.get(ADDED, []):
            if host not in self.targets and (like := self.holder(host)) is not None:
                self._adopt(host, like)

    async def added(self) -> list[str]:
        await self._load_added()
        return list(await self.ctx.kv.get(ADDED, []))

    async def add_host(self, host: str) -> list[dict[str, Any]]:
        """Keeps `host` from now on (remembered in the store), sets its record to the public
        IP now and waits until DNS serves it; if that fails the host is dropped again and
        whatever record was set is deleted, so a refused add leaves nothing behind."""
        host = host.lower().rstrip(".")
        await self._load_added()
        if host in self.targets:
            raise ValueError(f"{host} is kept already")
        like = self.holder(host)
        if like is None:
            raise ValueError(f"no configured host's zone holds {host}")
        await self.ctx.kv.set(ADDED, [*await self.ctx.kv.get(ADDED, []), host])
        self._adopt(host, like)
        results = await self.sync(force=True, only=[host], trigger="add_host")
        if bad := [r for r in results if not r.get("verified")]:
            await self._forget(host, delete=any(r["action"] != "failed" and "outcome" in r
                                                for r in results))
            raise RuntimeError("; ".join(f"{r['family']}: {r['message']}" for r in bad))
        self.ctx.log.info(f"{self.ctx.name}.host_added", host=host)
        return results

    async def remove_host(self, host: str) -> list[dict[str, Any]]:
        """Deletes the records of a host added by `add_host` (where the provider can) and
        stops keeping it. A host of the config is the user's: refused."""
        host = host.lower().rstrip(".")
        if host not in await self.added():
            if host in self.targets:
                raise ValueError(f"{host} is in the plugin's config: remove it there")
            raise ValueError(f"{host} is not kept here")
        results = await self._forget(host, delete=True)
        self.ctx.log.info(f"{self.ctx.name}.host_removed", host=host)
        return results

    async def _forget(self, host: str, *, delete: bool) -> list[dict[str, Any]]:
        target = self.targets[host]
        results = []
        for family in self.families if delete else ():
            answer = await target.provider.delete(target, family)
            if answer is None:
                results.append({"family": f"ipv{family}", "action": "kept",
                                "message": f"{target.provider.label} cannot delete a record: "
                                           "it stays there until removed by hand"})
            elif not answer.outcome.succeeded:
                raise RuntimeError(f"ipv{family}: {answer.describe()}")  # still kept here
            else:
                results.append({"family": f"ipv{family}", "action": "deleted",
                                "message": answer.describe()})
        async with self._sync_lock:
            await self.ctx.kv.set(ADDED, [h for h in await self.ctx.kv.get(ADDED, [])
                                          if h != host])
            states = await self.states()
            for family in self.families:
                states.pop(state_key(host, family), None)
            await self.ctx.kv.set("hosts", states)
            self._drop(host)
        return results
