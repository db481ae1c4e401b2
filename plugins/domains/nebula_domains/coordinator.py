"""The plugin's runtime: one `nebula.helpers.coordinator.Coordinator` per host, so each host
is checked in its own task (at most `concurrency` at once) and its latest report is shared
by the checks, the table and the tools; and one for our public IP, asked of the zoneedit
plugin.

A check waits for its own host's run only, so a slow host holds up nobody else; callers
that ask for a host while its check runs share that run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from nebula.helpers.coordinator import Coordinator
from nebula.helpers.net import trust
from nebula_domains import certs, probe, resolve, verdicts
from nebula_domains.report import HostReport
from nebula_domains.schema import Host, hosts

CallAction = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]


class Monitor:
    """Returned by `nebula_startup`; the core closes it (`aclose`) when the plugin stops."""

    def __init__(self, config: Mapping[str, Any], call_action: CallAction,
                 log: Any = None) -> None:
        self.config = config
        self.hosts = {h.name: h for h in hosts(config)}
        self._call_action = call_action
        self._reports = {name: Coordinator(lambda host=host: self._check(host),
                                           max_age=config["interval"] / 2,
                                           name=f"domains.{name}",
                                           log=log.bind(host=name) if log else None)
                         for name, host in self.hosts.items()}
        self._slots = asyncio.Semaphore(config["concurrency"])
        self._addresses: dict[str, tuple[float, list[str]]] = {}
        self._public = Coordinator(self._ask_public_ip, max_age=config["interval"] / 2,
                                   name="domains.public_ip", log=log)
        self._seen: probe.Seen = {}
        self._verify = probe.capturing(trust(config.get("ca_bundle")), self._seen)
        self._inspect = probe.capturing(certs.inspecting_context(), self._seen)
        self._http: aiohttp.ClientSession | None = None
        self._dns = resolve.Client()

    @property
    def host_budget(self) -> float:
        """The longest one host's check can take once it has a slot."""
        return 2 * self.config["dns_timeout"] + 2 * self.config["http_timeout"] + 2

    async def aclose(self) -> None:
        """Cancels the checks in flight, then closes the HTTP session and DNS sockets."""
        await asyncio.gather(*(c.aclose() for c in (*self._reports.values(), self._public)))
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
            page, redirect = await asyncio.gather(
                self._bounded(probe.https(self._session(), https_url, self._verify,
                                          self._inspect, self._seen, cfg["http_timeout"],
                                          cfg["max_redirects"], host.keyword),
                              (probe.Https(error="timed out"), probe.Tls(error="timed out")))
                if host.https else _none(),
                self._bounded(probe.redirect(self._session(), http_url, cfg["http_timeout"]),
                              probe.Redirect(error="timed out"))
                if host.http_redirect else _none())
            https, tls = page or (None, None)
            if not host.tls:
                tls = None
            now = time.time()
            problems = [p for rdtype, got in answers.items()
                        for p in verdicts.dns_problems(host, rdtype, got, public)]
            problems += verdicts.web_problems(host, https, tls, redirect, now, self.config)
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

    async def _resolve(self, host: Host) -> dict[str, tuple[resolve.Answer, ...]]:
        cfg = self.config
        kinds = list(host.records)
        found = await asyncio.gather(*(
            self._dns.ask(r, cfg["dns_port"], host.name, kind, cfg["dns_timeout"])
            for kind in kinds for r in cfg["resolvers"]))
        per = len(cfg["resolvers"])
        answers = {kind: tuple(found[i * per:(i + 1) * per]) for i, kind in enumerate(kinds)}
        addresses = sorted({v for kind in ("A", "AAAA") for a in answers.get(kind, ())
                            if a.outcome == resolve.OK for v in a.values})
        if addresses:
            self._addresses[host.name] = (time.time(), addresses)
        return answers

    async def lookup(self, name: str) -> list[str]:
        """Addresses for the web probes: those the DNS check just found, else asked of the
        resolvers (a redirect to another host)."""
        name = name.lower().rstrip(".")
        cached = self._addresses.get(name)
        if cached is not None and time.time() - cached[0] < self.config["interval"]:
            return cached[1]
        cfg = self.config
        for kind in ("A", "AAAA"):
            for r in cfg["resolvers"]:
                answer = await self._dns.ask(r, cfg["dns_port"], name, kind,
                                             cfg["dns_timeout"])
                if answer.outcome == resolve.OK:
                    return list(answer.values)
        return []

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = probe.session(self.lookup, limit=2 * self.config["concurrency"])
        return self._http

    async def _public_ips(self) -> dict[str, str | None]:
        """Our public IP from the zoneedit plugin, asked once per half interval."""
        return await self._public.get()

    async def _ask_public_ip(self) -> dict[str, str | None]:
        name = self.config["public_ip_action"]
        try:
            outcome = await self._call_action(name, {})
        except KeyError:
            return {"reason": f"no action {name} (is the zoneedit plugin enabled?)"}
        except Exception as exc:  # any failure of a peer is reported, never raised here
            return {"reason": f"{name} failed: {type(exc).__name__}: {exc}"}
        if outcome.get("status") != "ok":
            return {"reason": f"{name}: {outcome.get('error') or outcome.get('status')}"}
        result = outcome.get("result") or {}
        found: dict[str, str | None] = {}
        reasons = []
        for rdtype, family in (("A", "ipv4"), ("AAAA", "ipv6")):
            info = result.get(family) or {}
            found[rdtype] = info.get("ip")
            if info and not info.get("ip"):
                reasons.append(f"{family}: {info.get('reason')}")
        found["reason"] = "; ".join(reasons) or None
        return found


async def _none() -> None:
    return None
