"""Charts drawn on the server as SVG: a metric over time (average line, min-max band, axes
with the metric's unit, the values under the pointer as native tooltips) and a check's
status timeline. No script and no inline style, so the panel's CSP stays strict; the
colours come from the stylesheet's classes.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from nebula.web.html import e

W, H = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 632, 12, 172
# Hover targets per chart: enough to read a value anywhere, few enough to keep a page light.
TARGETS = 120


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values from at or below `low` to at or above `high`, 1, 2 or 5 times a power
    of ten apart, about `count` steps."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [math.floor(low / step) * step]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _clock(ts: float, span: float) -> str:
    return time.strftime("%H:%M" if span <= 36 * 3600 else "%d %b", time.localtime(ts))


def _x(ts: float, since: float, until: float) -> float:
    return LEFT + (ts - since) / ((until - since) or 1) * (RIGHT - LEFT)


def _runs(samples: Sequence[Any]) -> list[list[Any]]:
    """Samples split where the check did not report for much longer than usual (the agent
    was stopped), so the line shows the gap rather than bridging it."""
    if len(samples) < 3:
        return [list(samples)]
    steps = sorted(b.ts - a.ts for a, b in itertools.pairwise(samples))
    gap = 3 * steps[len(steps) // 2]
    runs: list[list[Any]] = [[samples[0]]]
    for before, sample in itertools.pairwise(samples):
        if sample.ts - before.ts > gap:
            runs.append([])
        runs[-1].append(sample)
    return runs


def metric_chart(samples: Sequence[Any], fmt: Callable[[float], str], *, label: str,
                 since: float, until: float) -> str:
    """`samples` (ts, min, avg, max) oldest first, drawn from `since` to `until`;
    `fmt` writes a value with its unit for people."""
    if not samples:
        return (f'<p class="muted chart-empty">{e(label)}: no samples in this range yet.</p>')
    low = min(s.min for s in samples)
    high = max(s.max for s in samples)
    ticks = _nice_ticks(low, high)
    bottom, top = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return BOTTOM - (value - bottom) / ((top - bottom) or 1) * (BOTTOM - TOP)

    grid = "".join(
        f'<line class="grid" x1="{LEFT}" x2="{RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
        f'<text class="axis" x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">'
        f"{e(fmt(t))}</text>" for t in ticks)
    span = until - since
    times = "".join(
        f'<text class="axis" x="{_x(t, since, until):.1f}" y="{H - 8}" text-anchor="middle">'
        f"{e(_clock(t, span))}</text>" for t in (since + span * i / 4 for i in range(5)))
    shapes = []
    for run in _runs(samples):
        top_edge = [f"{_x(s.ts, since, until):.1f},{y(s.max):.1f}" for s in run]
        bottom_edge = [f"{_x(s.ts, since, until):.1f},{y(s.min):.1f}" for s in reversed(run)]
        line = " ".join(f"{_x(s.ts, since, until):.1f},{y(s.avg):.1f}" for s in run)
        shapes.append(f'<polygon class="band" points="{" ".join(top_edge + bottom_edge)}"/>'
                      f'<polyline class="line" points="{line}"/>')
    every = max(1, math.ceil(len(samples) / TARGETS))
    width = (RIGHT - LEFT) / min(len(samples), TARGETS)
    hovers = "".join(
        f'<rect class="hover" x="{_x(s.ts, since, until) - width / 2:.1f}" y="{TOP}" '
        f'width="{width:.1f}" height="{BOTTOM - TOP}"><title>'
        f"{e(time.strftime('%Y-%m-%d %H:%M', time.localtime(s.ts)))}: {e(fmt(s.avg))}"
        + (f" (min {e(fmt(s.min))}, max {e(fmt(s.max))})" if s.min != s.max else "")
        + "</title></rect>" for s in samples[::every])
    average = sum(s.avg for s in samples) / len(samples)
    summary = (f"{label}: average {fmt(average)}, lowest {fmt(low)}, highest {fmt(high)}, "
               f"{_clock(since, span)} to {_clock(until, span)}")
    return (f'<figure class="chart"><figcaption>{e(label)}</figcaption>'
            f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{e(summary)}">{grid}{times}'
            f'{"".join(shapes)}{hovers}</svg></figure>')


def _word(span: Any) -> str:
    return "maintenance" if span.maintenance else getattr(span.status, "value", span.status)


def status_timeline(spans: Sequence[Any], *, since: float, until: float,
                    fmt_duration: Callable[[float], str]) -> str:
    """A check's statuses as a bar from `since` to `until`, each period titled with its
    status, times, length and the summary it started with."""
    bars = []
    for span in spans:
        start, end = max(span.start, since), min(span.end or until, until)
        if end <= start:
            continue
        x0, x1 = _x(start, since, until), _x(end, since, until)
        status = _word(span)
        words = (f"{status} {time.strftime('%Y-%m-%d %H:%M', time.localtime(start))} for "
                 f"{fmt_duration(end - start)}: {span.summary}")
        bars.append(f'<rect class="span status-{e(status)}" x="{x0:.1f}" y="4" '
                    f'width="{max(x1 - x0, 1):.1f}" height="24"><title>{e(words)}</title>'
                    "</rect>")
    if not bars:
        return '<p class="muted">No results in this range yet.</p>'
    shown = ", ".join(f"{_word(s)} "
                      f"{fmt_duration(min(s.end or until, until) - max(s.start, since))}"
                      for s in spans[-6:])
    return (f'<svg class="timeline" viewBox="0 0 {W} 32" role="img" '
            f'aria-label="{e("Status over the range, latest periods: " + shown)}">'
            f'{"".join(bars)}</svg>')
