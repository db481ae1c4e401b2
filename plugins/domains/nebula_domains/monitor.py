"""The coordinator: checks each host in its own task, at most `concurrency` at once, and
keeps the latest report per host for the checks, the table and the tools to share.

A check waits for its own host's task only, so a slow host holds up nobody else; callers
that ask for a host while its check runs share that run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from nebula_domains import certs, probe, resolve, verdicts
from nebula_domains.report import HostReport
from nebula_domains.schema import Host, hosts

CallAction = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]


class Monitor:
    def __init__(self, config: Mapping[str, Any], call_action: CallAction) -> None:
        self.config = config
        self.hosts = {h.name: h for h in hosts(config)}
        self.latest: dict[str, HostReport] = {}
        self._call_action = call_action
        self._running: dict[str, asyncio.Task[HostReport]] = {}
        self._slots = asyncio.Semaphore(config["concurrency"])
        self._addresses: dict[str, tuple[float, list[str]]] = {}
        self._public: tuple[float, dict[str, str | None]] | None = None
        self._public_lock = asyncio.Lock()
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

    async def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        if self._http is not None:
            await self._http.close()
        self._dns.close()

    # --- reading -------------------------------------------------------------------------

    async def report(self, name: str, max_age: float) -> HostReport:
        if name not in self.hosts:
            raise KeyError(f"{name!r} is not a configured host; configured: "
                           f"{', '.join(self.hosts)}")
        latest = self.latest.get(name)
        if latest is not None and time.time() - latest.taken <= max_age:
            return latest
        task = self._running.get(name)
        if task is None or task.done():
            task = self._running[name] = asyncio.ensure_future(self._check(self.hosts[name]))
        return await asyncio.shield(task)

    async def cycle(self, max_age: float = 0) -> list[HostReport]:
        """Every host, each as soon as its own check is done."""
        return list(await asyncio.gather(*(self.report(n, max_age) for n in self.hosts)))

    async def snapshot(self, wait: float) -> dict[str, HostReport | None]:
        """The latest report per host; hosts never checked are started and waited for up
        to `wait` seconds, else left None."""
        missing = [n for n in self.hosts if n not in self.latest]
        if missing:
            tasks = [asyncio.ensure_future(self.report(n, float("inf"))) for n in missing]
            await asyncio.wait(tasks, timeout=wait)
        return {n: self.latest.get(n) for n in self.hosts}

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
            report = HostReport(host.name, now, round((time.perf_counter() - started) * 1000, 1),
                                answers, https, tls, redirect, tuple(problems))
        self.latest[host.name] = report
        return report

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
        async with self._public_lock:
            if self._public and time.time() - self._public[0] < self.config["interval"] / 2:
                return self._public[1]
            self._public = (time.time(), await self._ask_public_ip())
            return self._public[1]

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
