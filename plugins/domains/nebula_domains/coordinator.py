"""The plugin's runtime: one `nebula.helpers.coordinator.Coordinator` per host, so each host
is checked in its own task (at most `concurrency` at once) and its latest report is shared
by the checks, the table and the tools; and our public IP as the DDNS plugin (ddns or
zoneedit) publishes it.

A check waits for its own host's run only, so a slow host holds up nobody else; callers
that ask for a host while its check runs share that run."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from nebula.helpers import nameservers
from nebula.helpers.coordinator import Coordinator
from nebula_domains import certs, probe, resolve, verdicts
from nebula_domains.hosts import Host, hosts
from nebula_domains.records import ADDRESS_TYPES
from nebula_domains.report import HostReport

CallAction = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]
PeerConfig = Callable[[str], Mapping[str, Any] | None]
PublicIp = dict[str, str | None]  # {"A": ip, "AAAA": ip, "reason": why one is missing}
# `public_ip_action = "auto"`: the first of these whose plugin runs speaks for our public IP.
AUTO = "auto"
AUTO_SOURCES = ("ddns.public_ip", "zoneedit.public_ip")


class Monitor:
    """Returned by `nebula_startup`; the core closes it (`aclose`) when the plugin stops."""

    def __init__(self, config: Mapping[str, Any], call_action: CallAction,
                 peer_config: PeerConfig, log: Any = None) -> None:
        self.config = config
        self.hosts = {h.name: h for h in hosts(config)}
        self.resolvers = [nameservers.parse(spec, config["dns_port"])
                          for spec in config["resolvers"]]
        self._call_action = call_action
        self._peer_config = peer_config
        self._reports = {name: Coordinator(functools.partial(self._check, host),
                                           max_age=config["interval"] / 2,
                                           name=f"domains.{name}",
                                           log=log.bind(host=name) if log else None)
                         for name, host in self.hosts.items()}
        self._slots = asyncio.Semaphore(config["concurrency"])
        self._addresses: dict[str, tuple[float, list[str]]] = {}
        # Our public IP as the DDNS plugin last published it (its event), or as its action
        # answered when nothing was published yet; and which plugin that was.
        self.public_ip: PublicIp | None = None
        self._public_from: str | None = None
        self._public = Coordinator(self._ask_public_ip, max_age=config["interval"] / 2,
                                   name="domains.public_ip", log=log)
        self._seen: probe.Seen = {}
        self._verify = probe.capturing(certs.verifying_context(config.get("ca_bundle")),
                                       self._seen)
        self._inspect = probe.capturing(certs.inspecting_context(), self._seen)
        self._http: aiohttp.ClientSession | None = None
        self._dns = resolve.Client()

    @property
    def host_budget(self) -> float:
        """The longest one host's check can take once it has a slot."""
        return 2 * self.config["dns_timeout"] + 2 * self.config["http_timeout"] + 2

    async def aclose(self) -> None:
        """Cancels the checks in flight, then closes the HTTP session and DNS sockets."""
        await asyncio.gather(*(c.aclose() for c in self._reports.values()),
                             self._public.aclose())
        if self._http is not None:
            await self._http.close()
        self._dns.close()

    # --- reading -------------------------------------------------------------------------

    async def report(self, name: str, max_age: float | None = None) -> HostReport:
        """`name`'s latest report if younger than `max_age` (default: half the interval),
        else a new check (shared with whoever asked while it runs)."""
        if name not in self.hosts:
            raise KeyError(f"{name!r} is not a configured host; configured: "
                           f"{', '.join(self.hosts)}")
        return await self._reports[name].get(max_age)

    async def snapshot(self, wait: float) -> dict[str, HostReport | None]:
        """The latest report per host; hosts never checked are started and waited for up
        to `wait` seconds, else left None."""
        missing = [c for c in self._reports.values() if c.latest is None]
        if missing:
            runs = [asyncio.ensure_future(c.get(float("inf"))) for c in missing]
            await asyncio.wait(runs, timeout=wait)
            for run in runs:
                if run.done():
                    run.exception()  # seen: a failed check is the coordinator's last_error
                else:
                    run.cancel()  # only this wait: the check itself goes on
        return {n: c.latest for n, c in self._reports.items()}

    # --- checking one host ---------------------------------------------------------------

    async def _check(self, host: Host) -> HostReport:
        async with self._slots:
            started = time.perf_counter()
            public = await self._public_ips() if host.wants_public_ip else {}
            answers = await self._resolve(host)
            https_url, http_url = self._urls(host)
            cfg = self.config
            # A name without an address gets no web probes: they could only fail at
            # connecting, repeating the DNS problem in other words.
            resolved = not (host.https or host.http_redirect) or bool(
                await self.lookup(host.name, answers))
            page, redirect = await asyncio.gather(
                self._bounded(probe.https(self._session(), https_url, self._verify,
                                          self._inspect, self._seen, cfg["http_timeout"],
                                          cfg["max_redirects"], host.keyword),
                              (probe.Https(error="timed out"), probe.Tls(error="timed out")))
                if host.https and resolved else _none(),
                self._bounded(probe.redirect(self._session(), http_url, cfg["http_timeout"]),
                              probe.Redirect(error="timed out"))
                if host.http_redirect and resolved else _none())
            https, tls = page or (None, None)
            if not host.tls:
                tls = None
            now = time.time()
            problems = [p for rdtype, got in answers.items()
                        for p in verdicts.dns_problems(host, rdtype, got, public)]
            problems += verdicts.web_problems(host, https, tls, redirect, now, self.config,
                                              resolved)
            return HostReport(host.name, now, round((time.perf_counter() - started) * 1000, 1),
                              answers, https, tls, redirect, tuple(problems))

    async def _bounded(self, work: Awaitable[Any], fallback: Any) -> Any:
        # Each request has its own timeout, but a redirect chain could add them up.
        try:
            return await asyncio.wait_for(work, 2 * self.config["http_timeout"])
        except asyncio.TimeoutError:
            return fallback

    def _urls(self, host: Host) -> tuple[str, str]:
        https_port, http_port = self.config["https_port"], self.config["http_port"]
        https = host.name + (f":{https_port}" if https_port != 443 else "")
        http = host.name + (f":{http_port}" if http_port != 80 else "")
        return f"https://{https}{host.path}", f"http://{http}{host.path}"

    async def _ask(self, name: str, kinds: list[str]) -> dict[str, tuple[resolve.Answer, ...]]:
        """Every resolver's answer for each of `kinds`, all asked at once."""
        found = await asyncio.gather(*(
            self._dns.ask(server, name, kind, self.config["dns_timeout"])
            for kind in kinds for server in self.resolvers))
        per = len(self.resolvers)
        return {kind: tuple(found[i * per:(i + 1) * per]) for i, kind in enumerate(kinds)}

    async def _resolve(self, host: Host) -> dict[str, tuple[resolve.Answer, ...]]:
        answers = await self._ask(host.name, list(host.records))
        if any(kind in answers for kind in ADDRESS_TYPES):
            self._remember(host.name, answers)
        return answers

    def _remember(self, name: str, answers: Mapping[str, tuple[resolve.Answer, ...]]
                  ) -> list[str]:
        addresses = sorted({v for kind in ADDRESS_TYPES for a in answers.get(kind, ())
                            if a.outcome == resolve.OK for v in a.values})
        if addresses:
            self._addresses[name] = (time.time(), addresses)
        else:  # no longer resolves: an address from an earlier check must not be used
            self._addresses.pop(name, None)
        return addresses

    async def lookup(self, name: str,
                     known: Mapping[str, tuple[resolve.Answer, ...]] | None = None
                     ) -> list[str]:
        """Addresses for the web probes: those the DNS check just found, else asked of the
        resolvers (a redirect to another host), the address types in `known` (answers
        just received) not asked again."""
        name = name.lower().rstrip(".")
        cached = self._addresses.get(name)
        if cached is not None and time.time() - cached[0] < self.config["interval"]:
            return cached[1]
        known = {k: v for k, v in (known or {}).items() if k in ADDRESS_TYPES}
        asked = await self._ask(name, [k for k in ADDRESS_TYPES if k not in known])
        return self._remember(name, {**known, **asked})

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = probe.session(self.lookup, limit=2 * self.config["concurrency"])
        return self._http

    # --- our public IP -------------------------------------------------------------------
    #
    # A DDNS plugin (ddns or zoneedit, on nebula.helpers.ddns) publishes the address it acts
    # on as an event (named like its action) at its first observation and whenever the
    # address changes; we follow that event. Its action is asked only while nothing was
    # published since we started: every action call writes an audit row, and a lookup per
    # check wrote hundreds a day. With `public_ip_action = "auto"` the source is the first
    # of AUTO_SOURCES whose plugin is running.

    def _candidates(self) -> list[tuple[str, str]]:
        name = self.config["public_ip_action"]
        return [(n, n.partition(".")[0]) for n in (AUTO_SOURCES if name == AUTO else (name,))]

    @property
    def _source(self) -> tuple[str, str] | None:
        """(action, plugin) of the running plugin that speaks for our public IP."""
        return next(((name, plugin) for name, plugin in self._candidates()
                     if self._peer_config(plugin) is not None), None)

    def _none_running(self) -> PublicIp:
        names = self._candidates()
        return {"reason": f"no action {' or '.join(n for n, _ in names)} (is the "
                          f"{' or '.join(p for _, p in names)} plugin enabled?)"}

    async def on_public_ip(self, event: Mapping[str, Any]) -> None:
        """The subscription's handler: the source plugin's new public IP."""
        source = self._source
        if source is not None and event.get("source") == source[1]:
            self.public_ip = _public_ip(event.get("data") or {})
            self._public_from = source[1]

    async def _public_ips(self) -> PublicIp:
        source = self._source
        if source is None or source[1] != self._public_from:
            # Stopped, or another plugin speaks now: what the last one said no longer holds.
            self.public_ip = None
            self._public_from = source[1] if source else None
            self._public.invalidate()
            if source is None:
                return self._none_running()
        if self.public_ip is not None:
            return self.public_ip
        return await self._public.get()

    async def _ask_public_ip(self) -> PublicIp:
        source = self._source
        if source is None:
            return self._none_running()
        name, plugin = source
        try:
            outcome = await self._call_action(name, {})
        except KeyError:
            return {"reason": f"no action {name} (is the {plugin} plugin enabled?)"}
        except Exception as exc:  # any failure of a peer is reported, never raised here
            return {"reason": f"{name} failed: {type(exc).__name__}: {exc}"}
        if outcome.get("status") != "ok":
            return {"reason": f"{name}: {outcome.get('error') or outcome.get('status')}"}
        if self.public_ip is None:  # an event that came meanwhile is newer
            self.public_ip = _public_ip(outcome.get("result") or {})
        return self.public_ip


def _public_ip(published: Mapping[str, Any]) -> PublicIp:
    """A DDNS plugin's `{"ipv4": {"ip", "reason"}, "ipv6": ...}` by record type."""
    found: PublicIp = {}
    reasons = []
    for rdtype, family in (("A", "ipv4"), ("AAAA", "ipv6")):
        info = published.get(family) or {}
        found[rdtype] = info.get("ip")
        if info and not info.get("ip"):
            reasons.append(f"{family}: {info.get('reason')}")
    found["reason"] = "; ".join(reasons) or None
    return found


async def _none() -> None:
    return None
