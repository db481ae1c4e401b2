"""`/metrics` against the real Prometheus tools: `promtool check metrics` lints the
exposition, and a real Prometheus scrapes the agent with a viewer token using the scrape
config of docs/prometheus.md, then answers a query for a check value with its labels."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
from nebula.builtins.prometheus.metrics import unit_of
from tests.agent_process import free_port
from tests.waiting import eventually

DOCS = Path(__file__).resolve().parents[1] / "docs"
VALUES = {
    "memory.used_bytes": 2048.0,
    "cpu.percent": 42.0,
    "latency_ms": 250.0,
    "wait_ms": 1.0,
    "wait_seconds": 3.0,
    "disk./srv/my data.percent": 61.0,
    "load.1": 0.5,
    "rx_bytes_per_s": 100.0,
    "backup.age_hours": 2.0,
    "latency.min": 7.0,
    "broken": float("nan"),
}


class Gauges:
    """A plugin whose one check reports VALUES."""

    manifest = Manifest(api_version="1.2", description="reports numbers")

    async def _check(self) -> CheckResult:
        return CheckResult(Status.WARNING, "numbers", VALUES)

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("numbers", self._check, title="Numbers")]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def scraped(a: Any) -> str:
    await a.post("/api/v1/checks/run", {"names": ["gauges.numbers"]})
    status, text = await a.get("/metrics")
    assert status == 200
    return text


def test_unit_words():
    assert unit_of("memory.used_bytes")[0::2] == ("memory.used", 1.0)
    assert unit_of("latency_ms")[0::2] == ("latency", 0.001)
    assert unit_of("cpu.percent")[0::2] == ("cpu", 0.01)
    assert unit_of("percent")[0] == "percent"  # nothing left: the key stays
    assert unit_of("latency.min")[1] is None  # a minimum, not minutes
    assert unit_of("errors")[1] is None  # a word ending in s is not seconds


async def test_check_values_as_unit_families_with_process_metrics_and_no_created(
        nebula_agent):
    async with nebula_agent({"gauges": Gauges()}) as a:
        text = await scraped(a)
    got = samples(text)
    labels = {"plugin": "gauges", "check": "gauges.numbers"}
    expected = {
        key("nebula_check_metric_bytes", metric="memory.used", **labels): 2048.0,
        key("nebula_check_metric_ratio", metric="cpu", **labels): 0.42,
        key("nebula_check_metric_seconds", metric="latency", **labels): 0.25,
        key("nebula_check_metric_seconds", metric="wait", **labels): 0.001,
        # The second key to claim `wait` in the same family keeps its full name.
        key("nebula_check_metric_seconds", metric="wait_seconds", **labels): 3.0,
        key("nebula_check_metric_ratio", metric="disk./srv/my data", **labels): 0.61,
        key("nebula_check_metric", metric="load.1", **labels): 0.5,
        key("nebula_check_metric_bytes_per_second", metric="rx", **labels): 100.0,
        key("nebula_check_metric_seconds", metric="backup.age", **labels): 7200.0,
        key("nebula_check_metric", metric="latency.min", **labels): 7.0,
        key("nebula_check_status", check="gauges.numbers", plugin="gauges"): 1.0,
    }
    for k, value in expected.items():
        assert got.get(k) == pytest.approx(value), k
    assert not any(name == "nebula_check_metric" and dict(lbl).get("metric") == "broken"
                   for name, lbl in got), "a NaN is not exported"
    assert "nebula_check_last_run_timestamp_seconds" in {name for name, _ in got}
    assert any(name == "nebula_check_duration_seconds_count" for name, _ in got)
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                 "process_start_time_seconds"):
        assert any(n == name for n, _ in got), name
    assert "_created" not in text

    code, output = await run("promtool", "check", "metrics", stdin=text)
    assert code == 0, output


def scrape_config(target: str, token_file: Path) -> str:
    """The scrape config docs/prometheus.md shows, pointed at this agent and token, with a
    short interval so the test does not wait."""
    block = re.search(r"```yaml\n(scrape_configs:.*?)```", (DOCS / "prometheus.md").read_text(),
                      re.S)
    assert block, "docs/prometheus.md has no scrape_configs block"
    text = block.group(1)
    for old, new in (("nebula.lan:8765", target), ("/etc/prometheus/nebula.token",
                                                   str(token_file)),
                     ("scrape_interval: 30s", "scrape_interval: 1s")):
        assert old in text, old
        text = text.replace(old, new)
    return "global:\n  scrape_timeout: 1s\n" + text


async def run(*args: str, stdin: str = "") -> tuple[int, str]:
    """A command's exit code and output, without blocking the agent's event loop."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def query(a: Any, port: int, promql: str) -> list[dict[str, Any]]:
    """Prometheus' answer to an instant query (empty while it is not up yet)."""
    try:
        async with a.session.get(f"http://127.0.0.1:{port}/api/v1/query",
                                 params={"query": promql}) as resp:
            return (await resp.json())["data"]["result"]
    except aiohttp.ClientConnectionError:
        return []


@pytest.mark.e2e  # a real Prometheus
async def test_a_real_prometheus_scrapes_with_a_viewer_token(nebula_agent, tmp_path):
    async with nebula_agent({"gauges": Gauges()}) as a:
        await a.post("/api/v1/checks/run", {"names": ["gauges.numbers"]})
        status, made = await a.post("/api/v1/tokens", {"name": "prometheus", "role": "viewer"})
        assert status == 201, made
        token_file = tmp_path / "nebula.token"
        token_file.write_text(made["token"] + "\n")
        token_file.chmod(0o400)
        config = tmp_path / "prometheus.yml"
        config.write_text(scrape_config(a.url.removeprefix("http://"), token_file))
        code, output = await run("promtool", "check", "config", str(config))
        assert code == 0, output

        port = free_port()
        log = (tmp_path / "prometheus.log").open("w")
        prometheus = await asyncio.create_subprocess_exec(
            "prometheus", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}", stdout=log, stderr=log)
        try:
            found = await eventually(lambda: query(
                a, port, 'nebula_check_metric_bytes{metric="memory.used"}'), timeout=30,
                interval=0.2)
            assert found[0]["metric"] == {
                "__name__": "nebula_check_metric_bytes", "job": "nebula",
                "instance": a.url.removeprefix("http://"), "plugin": "gauges",
                "check": "gauges.numbers", "metric": "memory.used"}
            assert float(found[0]["value"][1]) == 2048.0
            up = await query(a, port, 'up{job="nebula"}')
            assert [float(r["value"][1]) for r in up] == [1.0]
            assert await query(a, port, "process_resident_memory_bytes")
        finally:
            prometheus.terminate()
            await asyncio.wait_for(prometheus.wait(), 30)
            log.close()


async def test_the_grafana_dashboard_queries_metrics_that_exist(nebula_agent):
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    referenced = {m for e in exprs for m in re.findall(r"\b((?:nebula|process)_[a-z_]+)", e)}
    assert referenced
    async with nebula_agent({"gauges": Gauges()}) as a:
        names = {name for name, _ in samples(await scraped(a))}
    assert referenced <= names, referenced - names
