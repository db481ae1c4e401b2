"""The system plugin's hooks, driven directly against this machine's real psutil, and
the plugin in a real agent for its lifecycle."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jsonschema
import psutil
import pytest

from nebula.api import CheckResult, KeyValue, Panel, PluginContext, Status, Unit, human
from nebula_system import hooks, plugin
from nebula_system.coordinator import Sampler
from tests.waiting import eventually

SCHEMA = dict(plugin.manifest.config_schema or {})
DEFAULTS = {key: prop["default"] for key, prop in SCHEMA["properties"].items()
            if "default" in prop}

Start = Callable[..., Awaitable[PluginContext]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Starts the plugin as the core would: config is the schema defaults plus overrides,
    and what startup returns is kept as the context's runtime (closed at the end)."""
    started: list[PluginContext] = []

    async def _start(**overrides: Any) -> PluginContext:
        config = {**DEFAULTS, **overrides}
        jsonschema.validate(config, SCHEMA)
        ctx = PluginContext(name="system", config=config, kv=KeyValue(None, "system"))
        ctx.runtime = await hooks.nebula_startup(ctx)
        started.append(ctx)
        return ctx

    yield _start
    for ctx in started:
        await ctx.runtime.aclose()


async def run_checks(ctx: PluginContext) -> dict[str, CheckResult]:
    return {check.name: await check.run() for check in hooks.nebula_checks(ctx, ctx.runtime)}


def panels(ctx: PluginContext) -> dict[str, Panel]:
    return {panel.name: panel for panel in hooks.nebula_panels(ctx, ctx.runtime)}


# --- config --------------------------------------------------------------------------------


def test_schema_defaults_are_valid_and_unknown_keys_are_refused() -> None:
    assert SCHEMA["additionalProperties"] is False
    jsonschema.validate(DEFAULTS, SCHEMA)
    assert DEFAULTS["interval"] == 30
    assert (DEFAULTS["cpu_warning"], DEFAULTS["cpu_critical"]) == (85, 95)
    assert (DEFAULTS["disk_warning"], DEFAULTS["disk_critical"]) == (85, 95)
    assert DEFAULTS["top_n"] == 5
    assert "tmpfs" in DEFAULTS["ignore_fstypes"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**DEFAULTS, "cpu_warnign": 80}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**DEFAULTS, "cpu_warning": 120}, SCHEMA)


def test_warning_above_critical_is_a_config_problem_with_the_reason() -> None:
    assert hooks.nebula_validate_config({**DEFAULTS, "memory_warning": 99}) == [
        ("memory_warning", "memory_warning (99) is above memory_critical (95)")]
    assert hooks.nebula_validate_config(DEFAULTS) == []


# --- checks --------------------------------------------------------------------------------


async def test_every_check_returns_a_valid_result(start: Start) -> None:
    ctx = await start()
    checks = hooks.nebula_checks(ctx, ctx.runtime)
    names = {c.name for c in checks}
    assert {"cpu", "memory", "swap", "load", "disk"} <= names
    assert all(c.interval == 30 and c.title for c in checks)
    for name, result in (await run_checks(ctx)).items():
        assert isinstance(result, CheckResult), name
        assert isinstance(result.status, Status), name
        assert result.summary and "\n" not in result.summary, name
        assert all(isinstance(v, float) and math.isfinite(v) for v in result.metrics.values())
    results = await run_checks(ctx)
    assert results["cpu"].summary.startswith("CPU ")
    assert "(warning at 85%)" in results["cpu"].summary or results["cpu"].status != Status.OK
    assert 0.0 <= results["cpu"].metrics["cpu.percent"] <= 100.0
    assert results["load"].metrics["load.per_core"] >= 0.0


async def test_every_metric_but_temperatures_declares_its_unit(start: Start) -> None:
    """Charts label axes and text shows "252.0 GiB" from these (issue 18)."""
    ctx = await start()
    checks = {c.name: c for c in hooks.nebula_checks(ctx, ctx.runtime)}
    for name, result in (await run_checks(ctx)).items():
        if name != "temperature":  # °C: no Unit names it
            assert set(result.metrics) <= set(checks[name].units), name
    assert checks["memory"].units["memory.used_bytes"] is Unit.BYTES
    assert checks["cpu"].units["cpu.percent"] is Unit.PERCENT
    mount = ctx.runtime.latest.disks[0].mount
    assert checks["disk"].units[f"disk.{mount}.free_bytes"] is Unit.BYTES
    total = (await run_checks(ctx))["memory"].metrics["memory.total_bytes"]
    assert human(total, Unit.BYTES).endswith("iB")


async def test_the_configured_thresholds_decide_the_status(start: Start) -> None:
    ctx = await start(cpu_warning=0, memory_warning=0, disk_warning=0)
    results = await run_checks(ctx)
    for name in ("cpu", "memory", "disk"):
        assert results[name].status in (Status.WARNING, Status.CRITICAL), results[name]
    # A busy host can pass the critical line too; either way the configured line is named.
    assert ("warning at 0%" in results["cpu"].summary
            or "critical at 95%" in results["cpu"].summary)

    ctx = await start(cpu_warning=0, cpu_critical=0, memory_warning=0, memory_critical=0)
    results = await run_checks(ctx)
    assert results["cpu"].status == Status.CRITICAL
    assert results["memory"].summary.endswith("(critical at 0%)")


async def test_the_disk_check_covers_every_mount_and_names_the_worst(start: Start) -> None:
    ctx = await start(disk_warning=0)
    disks = await panels(ctx)["disks"].data()
    result = (await run_checks(ctx))["disk"]
    assert disks, "this machine should have at least one real mount"
    fullest = max(disks, key=lambda d: d["percent"])
    assert f"Disk {fullest['mount']} " in result.summary
    assert {f"disk.{d['mount']}.percent" for d in disks} <= set(result.metrics)


async def test_ignoring_every_mount_gives_unknown_not_a_crash(start: Start) -> None:
    ctx = await start(ignore_mounts=["*"])
    result = (await run_checks(ctx))["disk"]
    assert result.status == Status.UNKNOWN
    assert "ignore_mounts" in result.summary


async def test_no_temperature_support_means_no_temperature_check(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(psutil, "sensors_temperatures", raising=False)
    ctx = await start()
    results = await run_checks(ctx)
    assert "temperature" not in results
    assert results["cpu"].status in Status


async def test_a_hot_sensor_makes_the_temperature_check_critical(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few test machines have sensors, so this one stands in for a host's hwmon driver.
    reading = types.SimpleNamespace(label="Package id 0", current=93.5, high=None, critical=None)
    monkeypatch.setattr(psutil, "sensors_temperatures",
                        lambda: {"coretemp": [reading]}, raising=False)
    ctx = await start()
    result = (await run_checks(ctx))["temperature"]
    assert result.status == Status.CRITICAL
    assert result.summary == "Temperature coretemp Package id 0 93.5°C (critical at 90°C)"
    assert result.metrics["temperature.max"] == 93.5


# --- sampling ------------------------------------------------------------------------------


async def test_checks_of_one_round_share_one_reading(start: Start) -> None:
    ctx = await start()
    usage = panels(ctx)["usage"]
    assert len(await usage.data()) == 1  # the reading taken at startup
    await run_checks(ctx)
    await run_checks(ctx)
    assert len(await usage.data()) == 1


async def test_the_timeseries_grows_with_each_new_reading(start: Start) -> None:
    ctx = await start(interval=1)  # readings are reused for half a second
    usage = panels(ctx)["usage"]
    first = await usage.data()
    await asyncio.sleep(0.6)
    second = await usage.data()
    assert len(second) == len(first) + 1
    assert second[-1]["t"] > second[-2]["t"]
    assert all(set(point) == {"t", "cpu", "memory"} for point in second)


async def test_network_rates_are_bytes_per_second_between_readings(start: Start) -> None:
    ctx = await start(interval=1, ignore_interfaces=[])
    await asyncio.sleep(0.6)
    rows = await panels(ctx)["network"].data()
    assert rows, "every host has at least a loopback interface"
    for row in rows:
        assert row["rx_bytes_per_s"] is None or row["rx_bytes_per_s"] >= 0
        assert row["tx_bytes_per_s"] is None or row["tx_bytes_per_s"] >= 0
    assert any(row["rx_bytes_per_s"] is not None for row in rows)


# --- panels --------------------------------------------------------------------------------


async def test_panels_return_data_shaped_for_their_kind(start: Start) -> None:
    ctx = await start()
    found = panels(ctx)
    assert {name: p.kind for name, p in found.items()} == {
        "overview": "keyvalue", "usage": "timeseries", "disks": "table",
        "network": "table", "processes": "table"}
    for name, panel in found.items():
        keys = {f.key for f in panel.fields}
        assert keys and all(f.label for f in panel.fields), name
        data = await panel.data()
        if panel.kind == "keyvalue":
            assert set(data) == keys
        else:
            assert isinstance(data, list), name
            assert all(set(row) == keys for row in data), name
    overview = await found["overview"].data()
    assert overview["cpu_count"] == psutil.cpu_count()
    assert overview["uptime"] >= 0
    assert len(await found["processes"].data()) == 5


# --- action and tools ----------------------------------------------------------------------


@pytest.fixture
def busy_child() -> Any:
    """A process that keeps one core busy, so "top by CPU" has a known answer."""
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield child
    child.kill()
    child.wait()


async def test_top_processes_action_validates_and_sorts(start: Start, busy_child: Any) -> None:
    ctx = await start(interval=1)  # a new reading every half second, for the wait below
    (action,) = hooks.nebula_actions(ctx, ctx.runtime)
    assert action.name == "top_processes" and not action.destructive
    validator = jsonschema.Draft202012Validator(dict(action.params))
    assert validator.is_valid({"by": "memory", "n": 3})
    assert not validator.is_valid({"n": 0})
    assert not validator.is_valid({"n": 51})
    assert not validator.is_valid({"by": "disk"})

    by_memory = await action.run({"by": "memory", "n": 3})
    assert 0 < len(by_memory) <= 3
    assert set(by_memory[0]) == {"pid", "name", "user", "cpu_percent", "memory_percent",
                                 "memory_rss"}
    percents = [p["memory_percent"] for p in by_memory]
    assert percents == sorted(percents, reverse=True)

    by_cpu = await action.run({})
    assert len(by_cpu) == 5
    assert [p["cpu_percent"] for p in by_cpu] == sorted((p["cpu_percent"] for p in by_cpu),
                                                        reverse=True)
    # Measured between readings, not psutil's meaningless first 0.0 (a fresh psutil.Process
    # per reading would show 0.0 for ever). How much of a core the busy child gets, and so
    # whether it makes the top five, depends on what else runs: on a loaded machine it may
    # get no 10 ms tick in the first reading's short window. So wait for a reading that saw
    # it run, rather than expecting a share.
    async def busy_seen() -> dict[str, Any] | None:
        everyone = await action.run({"by": "cpu", "n": 50})
        return next((p for p in everyone if p["pid"] == busy_child.pid
                     and p["cpu_percent"] > 0), None)

    await eventually(busy_seen, timeout=30, interval=0.1)


async def test_tools_answer_without_changing_anything(start: Start) -> None:
    ctx = await start()
    tools = {tool.name: tool for tool in hooks.nebula_tools(ctx, ctx.runtime)}
    assert set(tools) == {"system_summary", "top_processes", "disk_usage"}
    assert all(tool.action is None and tool.run is not None for tool in tools.values())

    summary = await tools["system_summary"].run({})
    assert summary["cpu_count"] == psutil.cpu_count()
    assert 0 <= summary["memory_percent"] <= 100
    assert await tools["disk_usage"].run({}) == await panels(ctx)["disks"].data()
    assert len(await tools["top_processes"].run({"by": "cpu", "n": 2})) == 2
    with pytest.raises(jsonschema.ValidationError):
        await tools["top_processes"].run({"n": 500})


# --- lifecycle -----------------------------------------------------------------------------


async def test_the_sampler_is_the_runtime_and_is_closed_when_the_plugin_stops(
        nebula_agent: Any) -> None:
    async with nebula_agent({"system": plugin}) as agent:
        assert (await agent.run_check("system.memory"))["last_status"] in {s.value for s in Status}
        record = agent.agent.manager.records["system"]
        sampler = record.ctx.runtime
        assert isinstance(sampler, Sampler) and sampler.latest is not None
        assert not sampler.closed
        status, body = await agent.post("/api/v1/tools/system.disk_usage/run", {})
        assert status == 200 and body["result"], body
    # Stopping the agent stopped the plugin: its sampler is closed and takes no reading.
    assert sampler.closed and record.ctx.runtime is None
    with pytest.raises(RuntimeError, match="stopped"):
        await sampler.read()
