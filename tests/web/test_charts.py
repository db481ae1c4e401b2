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


def test_a_flapping_check_draws_narrow_periods_together_in_the_worst_status():
    # 30 days: 500 one-hour periods switching between ok and warning, then a quiet stretch.
    hour, day = 3600.0, 86400.0
    spans = [P(i * hour, (i + 1) * hour, "warning" if i % 2 else "ok", f"flap {i}")
             for i in range(500)]
    spans.append(P(500 * hour, None, "ok", "quiet"))
    svg = status_timeline(spans, since=0, until=30 * day, fmt_duration=lambda s: f"{s:g} s")
    bars = re.findall(r'<rect class="span status-(\w+)".*?<title>(.*?)</title>', svg)
    # An hour of 30 days is 0.8 units wide: three periods to a bar, each in the worst one.
    assert 100 < len(bars) <= (632 - 64) / 2 + 2, len(bars)
    grouped = [title for status, title in bars[:-1]]
    assert all(re.fullmatch(r"[23] periods from .* \(warning \d, ok \d\), worst warning", t)
               for t in grouped), grouped[:3]
    assert {status for status, _ in bars[:-1]} == {"warning"}
    # The wide period after them is drawn on its own, with its summary.
    assert bars[-1][0] == "ok" and bars[-1][1].endswith(": quiet")
