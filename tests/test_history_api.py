"""The history through the real HTTP app (viewer role, 422 problems) and through a plugin's
`ctx.history`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from nebula.api import (
    Check,
    CheckResult,
    KeyValue,
    Manifest,
    PluginContext,
    Sample,
    Status,
    Unit,
    hookimpl,
)


class Gauge:
    """A plugin with one check whose metric the test sets, declaring its units."""

    manifest = Manifest(api_version="1.2", description="history test plugin")

    def __init__(self) -> None:
        self.used, self.status = 10.0, Status.OK
        self.ctx: PluginContext | None = None

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def _check(self) -> CheckResult:
        return CheckResult(self.status, f"{self.used:g} % used",
                           {"used": self.used, "free": 1e9 - self.used})

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("disk", self._check, units={"used": Unit.PERCENT, "free": Unit.BYTES})]


async def run_gauge(a: Any, gauge: Gauge, values: list[float],
                    status: Status = Status.OK) -> None:
    gauge.status = status
    for value in values:
        gauge.used = value
        status_code, _ = await a.post("/api/v1/checks/run", {"names": ["gauge.disk"]})
        assert status_code == 200


async def test_history_and_spans_over_http(nebula_agent):
    gauge = Gauge()
    async with nebula_agent({"gauge": gauge}, schedule=False) as a:
        await run_gauge(a, gauge, [10.0, 30.0, 20.0])
        await run_gauge(a, gauge, [95.0], Status.CRITICAL)
        viewer = (await a.agent.tokens.create("reader", "viewer"))["token"]
        path = "/api/v1/checks/gauge.disk"

        status, body = await a.get(f"{path}/history?metric=used&range=1h", token=viewer)
        assert status == 200, body
        assert (body["check"], body["metric"], body["unit"], body["range"]) == (
            "gauge.disk", "used", "percent", "1h")
        assert [s[1:] for s in body["samples"]] == [[v, v, v] for v in (10, 30, 20, 95)]
        assert body["until"] - body["since"] == 3600
        status, body = await a.get(f"{path}/history?metric=free", token=viewer)
        assert (status, body["unit"], body["range"]) == (200, "bytes", "24h")
        # A day is read from the 5-minute rollups: one bucket (two if the runs straddled
        # a boundary) holding all four values.
        assert len(body["samples"]) in (1, 2)
        assert min(s[1] for s in body["samples"]) == 1e9 - 95
        assert max(s[3] for s in body["samples"]) == 1e9 - 10

        # Without metric and range: the latest results, as before, now with the flag.
        status, body = await a.get(f"{path}/history?limit=2", token=viewer)
        assert [r["summary"] for r in body["results"]] == ["95 % used", "20 % used"]
        assert body["results"][0]["maintenance"] is False

        status, body = await a.get(f"{path}/spans?range=1h", token=viewer)
        assert status == 200, body
        assert [(s["status"], s["summary"], s["maintenance"]) for s in body["spans"]] == [
            ("ok", "10 % used", False), ("critical", "95 % used", False)]
        assert body["spans"][0]["end"] == body["spans"][1]["start"]
        assert body["spans"][1]["end"] is None
        seconds = body["status_seconds"]
        assert set(seconds) == {"ok", "warning", "critical", "unknown", "maintenance"}
        assert seconds["ok"] == body["spans"][0]["end"] - body["spans"][0]["start"] > 0
        assert seconds["critical"] >= 0 and seconds["warning"] == 0

        # Bad input: 422 problem+json naming what is accepted; unknown check 404.
        for url, detail in ((f"{path}/history?metric=used&range=2y", "range must be"),
                            (f"{path}/spans?range=1w", "range must be"),
                            (f"{path}/history?metric=nope&range=1h", "no stored metric"),
                            (f"{path}/history?range=1h", "no stored metric")):
            async with a.session.get(a.url + url,
                                     headers={"Authorization": f"Bearer {viewer}"}) as resp:
                problem = await resp.json(content_type=None)
                assert (resp.status, resp.content_type) == (422, "application/problem+json")
                assert detail in problem["detail"], problem
        _, problem = await a.get(f"{path}/history?metric=nope", token=viewer)
        assert problem["known"] == ["free", "used"]
        assert (await a.get(f"{path}/history?metric=used&points=1"))[0] == 400
        assert (await a.get("/api/v1/checks/gauge.nope/spans"))[0] == 404
        # Signed out: nothing.
        for url in (f"{path}/history?metric=used", f"{path}/spans"):
            async with a.session.get(a.url + url) as resp:
                assert resp.status == 401

        # The plugin reads the same history through its context.
        assert gauge.ctx is not None
        history = gauge.ctx.history
        assert await history.metrics("gauge.disk") == [("gauge.disk", "free"),
                                                       ("gauge.disk", "used")]
        assert await history.unit("gauge.disk", "used") is Unit.PERCENT
        samples = await history.series("gauge.disk", "used", time.time() - 600)
        assert [s.avg for s in samples] == [10, 30, 20, 95]
        assert all(isinstance(s, Sample) for s in samples)
        spans = await history.spans("gauge.disk", 0)
        assert [s.status for s in spans] == [Status.OK, Status.CRITICAL]


async def test_a_context_without_an_agent_has_no_history():
    ctx = PluginContext("x", {}, KeyValue(None, "x"))
    with pytest.raises(RuntimeError, match="no agent history"):
        _ = ctx.history
