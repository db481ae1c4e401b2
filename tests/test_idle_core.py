"""What the core costs while nothing happens, and how soon it is ready (bench/footprint.py
measures both against Glances; these tests keep the causes fixed):

- `prometheus_client` and `argon2` load on the first scrape and the first password, not at
  every start;
- check results are written when there are some, not by a timer waking the agent every
  second;
- plugins start concurrently, each within its own timeout, and their contributions are
  still listed in the order a one-by-one start lists them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from aiotools import VirtualClock
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from nebula.api import Check, CheckResult, Manifest, PluginContext, Status, hookimpl
from nebula.builtins.prometheus.metrics import DURATION_BUCKETS, Durations
from nebula.builtins.prometheus.registry import DurationCollector
from nebula.health import HealthEngine
from nebula.store import SqliteStore
from tests.waiting import eventually

LAZY = ("prometheus_client", "argon2")


@pytest.mark.e2e  # an agent in a fresh interpreter
def test_an_idle_agent_loads_neither_prometheus_client_nor_argon2(tmp_path):
    """The built-ins (auth included) and the HTTP app start; only a scrape loads the
    Prometheus client, and it then serves the check durations counted before it."""
    code = f"""
import asyncio, sys
from pathlib import Path
from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.sample_plugins import Switchable

async def main():
    path = write_config(Path({str(tmp_path)!r}) / "nebula.toml", None, None)
    async with run_agent(load(path), {{"t": Switchable()}}) as a:
        assert (await a.get("/healthz"))[0] == 200
        await a.run_check("t.switch")
        print("=", sorted(m for m in {LAZY!r} if m in sys.modules))
        status, text = await a.get("/metrics")
        print("=", status, "prometheus_client" in sys.modules)
        print("=", [line.split(" ")[0] for line in text.splitlines()
               if line.startswith("nebula_check_duration_seconds_count")])

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    answers = [line[2:] for line in done.stdout.splitlines() if line.startswith("= ")]
    assert answers == [
        "[]", "200 True",
        "['nebula_check_duration_seconds_count{check=\"t.switch\",plugin=\"t\"}']"]


def test_check_durations_are_exposed_as_prometheus_clients_own_histogram():
    """The durations counted without prometheus_client read exactly as its Histogram
    would have written them, bounds included (`le` is inclusive)."""
    observed = [0.0, 0.001, 0.0011, 0.3, 1.0, 2.5, 29.9, 30.0, 31.0, 1e6]
    ours = Durations()
    reference = CollectorRegistry()
    histogram = Histogram("nebula_check_duration_seconds", "Check run time",
                          ["check", "plugin"], registry=reference, buckets=DURATION_BUCKETS)
    for n, seconds in enumerate(observed):
        key = ("a.one", "a") if n % 3 else ("b.two", "b")
        ours.observe(*key, seconds)
        histogram.labels(*key).observe(seconds)
    mine = CollectorRegistry()
    mine.register(DurationCollector(ours))

    def samples(registry):
        return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                      for family in text_string_to_metric_families(
                          generate_latest(registry).decode())
                      for s in family.samples if not s.name.endswith("_created"))

    assert samples(mine) == samples(reference)


# --- the results' writer -----------------------------------------------------------------

class Probe:
    def __init__(self) -> None:
        self.status = Status.OK

    async def __call__(self) -> CheckResult:
        return CheckResult(self.status, "as set")


async def _published(*_args) -> None:
    return None


async def test_results_are_written_in_one_batch_without_a_flush_call(tmp_path):
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    engine = HealthEngine(store, _published, flush_delay=0.3)
    engine.add(Check("t.db", Probe()), "t")
    count = "SELECT count(*) AS n FROM check_results"

    async def stored() -> int:
        return (await store.fetchone(count))["n"]

    try:
        engine.start_flushing()
        for _ in range(3):
            await engine.run("t.db")
        # The three arrived within the delay: the first write holds all of them.
        assert await eventually(stored) == 3
        await engine.run("t.db")  # a result after a write arms the writer again
        await eventually(lambda: _equals(stored, 4))
    finally:
        await engine.stop_flushing()
        await store.close()


async def _equals(read, expected) -> bool:
    return await read() == expected


class CountingEngine(HealthEngine):
    """The engine as it is, counting its writes."""

    writes = 0

    async def flush(self) -> int:
        self.writes += 1
        return await super().flush()


async def test_an_idle_agent_is_not_woken_to_write_results(nebula_agent, tmp_path):
    """The results' writer waits on an event, not a 1 s timer: on the loop's virtual clock,
    hours with nothing to write cost no write at all, and one result costs one. Nor does
    the agent schedule a periodic flush of its own."""
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    engine = CountingEngine(store, _published, flush_delay=0.3)
    engine.add(Check("t.db", Probe()), "t")
    try:
        with VirtualClock().patch_loop():
            engine.start_flushing()
            await asyncio.sleep(3600)  # virtual: an hour of idle passes at once
            assert engine.writes == 0
            await engine.run("t.db")
            await asyncio.sleep(1)  # virtual: past the batch delay
            assert engine.writes == 1
            await asyncio.sleep(3600)
            assert engine.writes == 1
    finally:
        await engine.stop_flushing()
        await store.close()
    async with nebula_agent({}) as a:
        assert not [name for name in a.agent.scheduler.jobs if "flush" in name]


# --- start order ---------------------------------------------------------------------------

class Waits:
    """Its startup waits for another plugin's startup, which a one-by-one start never
    reaches while this one waits."""

    manifest = Manifest(api_version="1.0", description="waits for its peer")

    def __init__(self, name: str, peer_started: asyncio.Event) -> None:
        self.name, self.peer_started = name, peer_started

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        await self.peer_started.wait()

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check(f"{self.name}", Probe(), interval=60)]


class Signals(Waits):
    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.peer_started.set()


async def test_plugins_start_concurrently_and_keep_their_order(nebula_agent):
    started = asyncio.Event()
    plugins = {"first": Waits("one", started), "second": Signals("two", started)}
    async with nebula_agent(plugins, agent={"startup_timeout": 5}) as a:
        states = {p["name"]: p["state"] for p in a.agent.plugin_states()}
        assert (states["first"], states["second"]) == ("loaded", "loaded")
        # Registered in the start order, though the second finished first.
        assert list(a.agent.health.checks) == ["first.one", "second.two"]
