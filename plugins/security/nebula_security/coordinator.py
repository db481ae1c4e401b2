"""The security plugin's runtime: one nebula.helpers Coordinator per input of the score, so
each `security.<input>` check, the score, the panels and the tools share one reading of
each (at most one per half interval), and the score is those readings combined.

Image scanning is slow (minutes per image), so the score never waits for it: it takes the
last scan, starting one in the background when none is fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from nebula.api import PluginContext, Status
from nebula.helpers.coordinator import Coordinator
from nebula_security.agentdata import assess_agent
from nebula_security.containers import assess_containers
from nebula_security.exposure import assess_exposure
from nebula_security.findings import WEIGHTS, Assessment, Score, combine, unknown
from nebula_security.logins import assess_logins
from nebula_security.sshd import assess_ssh
from nebula_security.tlsprobe import assess_tls
from nebula_security.updates import Simulation, assess_updates
from nebula_security.vulns import assess_vulnerabilities, scanner

Probe = Callable[[], Awaitable[Assessment]]
SCAN = "vulnerabilities"


class Security:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        config = ctx.config
        self.simulation = Simulation(config)
        probes: dict[str, Probe] = {
            "exposure": partial(assess_exposure, ctx),
            "tls": lambda: assess_tls(ctx.peer_config("domains"), config),
            "ssh": partial(assess_ssh, config),
            "updates": partial(assess_updates, config, self.simulation),
            "containers": partial(assess_containers, ctx),
            "logins": partial(assess_logins, ctx),
            "agent": partial(assess_agent, ctx),
            SCAN: partial(assess_vulnerabilities, ctx),
        }
        assert set(probes) == set(WEIGHTS)
        self.polls: dict[str, Coordinator[Assessment]] = {
            name: Coordinator(partial(self._guarded, name, probe), name=f"security.{name}",
                              max_age=(config["scan_interval"] if name == SCAN
                                       else config["interval"]) / 2, log=ctx.log)
            for name, probe in probes.items()}
        self._background: dict[str, asyncio.Task[Assessment]] = {}

    async def _guarded(self, name: str, probe: Probe) -> Assessment:
        """A probe's failure is its input's answer (unknown, with the error), never a
        failed fetch: the score always has all inputs."""
        try:
            return await probe()
        except Exception as exc:  # whatever a host command or peer throws is reported
            self.ctx.log.warning("security.probe_failed", input=name, error=repr(exc))
            return unknown(name, f"{type(exc).__name__}: {exc}", "see the agent's log")

    async def assessment(self, name: str, fresh: bool = False) -> Assessment:
        poll = self.polls[name]
        if fresh:
            poll.invalidate()
        return await poll.get()

    def _in_background(self, name: str) -> None:
        """Refresh input `name` without anyone waiting (one refresh at a time per input)."""
        if name in self._background:
            return
        task = asyncio.get_running_loop().create_task(self.polls[name].get())
        self._background[name] = task
        task.add_done_callback(lambda _: self._background.pop(name, None))

    async def current(self, name: str) -> Assessment:
        """The last reading of `name` at once, refreshed in the background when stale;
        waits only for a first reading. For panels and tools: a page must not wait for
        apt's seconds of CPU after a package change."""
        poll = self.polls[name]
        if poll.latest is None:
            return await poll.get()
        if not poll.fresh():
            self._in_background(name)
        return poll.latest

    def _last_scan(self) -> Assessment:
        """The last image scan, starting one in the background when it is stale (or was
        made before a scanner was installed: a real answer counts its images, or says
        there was no engine to scan)."""
        poll = self.polls[SCAN]
        scanned = poll.latest is not None and bool(
            {"images", "applicable"} & set(poll.latest.metrics))
        if not poll.fresh() or not scanned:
            if not scanned and SCAN not in self._background:
                poll.invalidate()
            self._in_background(SCAN)
        if scanned and poll.latest is not None:
            return poll.latest
        return unknown(SCAN, "the first image scan is still running", "wait for it "
                       "(security.vulnerabilities)")

    async def score(self, scan: bool = True, wait: bool = True) -> Score:
        """Every input combined. `scan=False` leaves image scanning out (it counts as
        not assessed): the bench's 'full scan without image scanning'. `wait=False`
        takes each input's last reading (see `current`)."""
        names = [n for n in WEIGHTS if n != SCAN]
        read = self.assessment if wait else self.current
        found = list(await asyncio.gather(*(read(n) for n in names)))
        if not scan:
            found.append(unknown(SCAN, "left out of this scan", "run security.vulnerabilities"))
        elif scanner(self.ctx.config) is None:
            # Without a scanner the answer is immediate: said at once, never a stale one.
            found.append(await self.assessment(SCAN, fresh=True))
        else:
            found.append(self._last_scan())
        return combine(found)

    def status_of(self, score: Score) -> Status:
        if score.value < self.ctx.config["score_critical"]:
            return Status.CRITICAL
        if score.value < self.ctx.config["score_warning"]:
            return Status.WARNING
        return Status.OK

    async def aclose(self) -> None:
        tasks = list(self._background.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for poll in self.polls.values():
            await poll.aclose()

