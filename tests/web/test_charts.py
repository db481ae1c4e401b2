"""The server-drawn charts: axes in the metric's unit, a gap where the agent was away, a
bounded number of hover targets, and a timeline titled in words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nebula.web.charts import TARGETS, _nice_ticks, metric_chart, status_timeline


@dataclass
class S:
    ts: float
    min: float
    avg: float
    max: float


@dataclass
class P:
    start: float
    end: float | None
    status: str
    summary: str
    maintenance: bool = False


def pct(value: float) -> str:
    return f"{value:g} %"


def test_ticks_are_round_and_cover_the_values():
    assert _nice_ticks(3, 97) == [0, 50, 100]
    assert _nice_ticks(0.2, 0.9) == [0.2, 0.4, 0.6000000000000001, 0.8, 1.0] or \
        _nice_ticks(0.2, 0.9)[0] <= 0.2 <= 0.9 <= _nice_ticks(0.2, 0.9)[-1]
    flat = _nice_ticks(5, 5)
    assert flat[0] <= 5 <= flat[-1] and len(flat) >= 2


def test_a_chart_has_unit_axes_a_summary_and_capped_hover_targets():
    samples = [S(1000 + 30 * i, i % 7, i % 7 + 1, i % 7 + 2) for i in range(1000)]
    svg = metric_chart(samples, pct, label="used pct", since=1000, until=1000 + 30 * 1000)
    assert 'role="img"' in svg and "lowest 0 %" in svg and "highest 8 %" in svg
    assert re.search(r'<text class="axis"[^>]*>8 %</text>', svg)
    assert len(re.findall(r'<rect class="hover"', svg)) <= TARGETS
    assert "max 8 %" in svg or "max 7 %" in svg  # a hover title with the band's extent


def test_a_gap_in_reporting_breaks_the_line():
    before = [S(t, 1, 1, 1) for t in range(0, 600, 30)]
    after = [S(t, 2, 2, 2) for t in range(7200, 7800, 30)]
    svg = metric_chart(before + after, pct, label="x", since=0, until=7800)
    assert svg.count('<polyline class="line"') == 2


def test_no_samples_says_so():
    assert "no samples in this range" in metric_chart([], pct, label="x", since=0, until=1)


def test_timeline_titles_each_period_in_words():
    spans = [P(0, 3600, "ok", "fine"), P(3600, None, "critical", "disk full"),
             P(100, 200, "ok", "window", maintenance=True)]
    svg = status_timeline(spans, since=0, until=7200, fmt_duration=lambda s: f"{s:g} s")
    assert "critical" in svg and "for 3600 s: disk full" in svg
    assert 'class="span status-maintenance"' in svg
    assert "No results" in status_timeline([], since=0, until=1, fmt_duration=str)
