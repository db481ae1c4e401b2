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
    # The last time label ends at the right edge (centred there, it was cut off).
    times = "".join(
        f'<text class="axis" x="{_x(t, since, until):.1f}" y="{H - 8}" '
        f'text-anchor="{"end" if i == 4 else "middle"}">{e(_clock(t, span))}</text>'
        for i, t in ((i, since + span * i / 4) for i in range(5)))
    # Each sample's coordinates worked out once (band, line and hover target share them)
    # and each value written once: this is most of a check page's render time.
    sx = (RIGHT - LEFT) / (span or 1)
    sy = (BOTTOM - TOP) / ((top - bottom) or 1)
    shapes = []
    for run in _runs(samples):
        xs = [f"{LEFT + (s.ts - since) * sx:.1f}," for s in run]
        top_edge = [x + f"{BOTTOM - (s.max - bottom) * sy:.1f}"
                    for x, s in zip(xs, run, strict=True)]
        bottom_edge = [x + f"{BOTTOM - (s.min - bottom) * sy:.1f}"
                       for x, s in zip(reversed(xs), reversed(run), strict=True)]
        line = " ".join(x + f"{BOTTOM - (s.avg - bottom) * sy:.1f}"
                        for x, s in zip(xs, run, strict=True))
        shapes.append(f'<polygon class="band" points="{" ".join(top_edge + bottom_edge)}"/>'
                      f'<polyline class="line" points="{line}"/>')
    written: dict[float, str] = {}

    def text(value: float) -> str:
        found = written.get(value)
        if found is None:
            found = written[value] = e(fmt(value))
        return found

    every = max(1, math.ceil(len(samples) / TARGETS))
    width = (RIGHT - LEFT) / min(len(samples), TARGETS)
    hovers = "".join(
        f'<rect class="hover" x="{LEFT + (s.ts - since) * sx - width / 2:.1f}" y="{TOP}" '
        f'width="{width:.1f}" height="{BOTTOM - TOP}"><title>'
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(s.ts))}: {text(s.avg)}"
        + (f" (min {text(s.min)}, max {text(s.max)})" if s.min != s.max else "")
        + "</title></rect>" for s in samples[::every])
    average = sum(s.avg for s in samples) / len(samples)
    summary = (f"{label}: average {fmt(average)}, lowest {fmt(low)}, highest {fmt(high)}, "
               f"{_clock(since, span)} to {_clock(until, span)}")
    return (f'<figure class="chart"><figcaption>{e(label)}</figcaption>'
            f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{e(summary)}">{grid}{times}'
            f'{"".join(shapes)}{hovers}</svg></figure>')


def _word(span: Any) -> str:
    return "maintenance" if span.maintenance else getattr(span.status, "value", span.status)


# A period narrower than this (viewBox units, ~3 px on a desktop) is drawn together with its
# neighbours as one bar in the worst status among them: a check that flapped 500 times in
# 30 days is ~280 bars, not 500 sub-pixel ones (that was most of its page's weight).
MIN_BAR = 2.0
WORST = ("critical", "warning", "unknown", "maintenance", "ok")


def status_timeline(spans: Sequence[Any], *, since: float, until: float,
                    fmt_duration: Callable[[float], str]) -> str:
    """A check's statuses as a bar from `since` to `until`, each period titled with its
    status, times, length and the summary it started with."""
    bars: list[str] = []
    group: list[tuple[float, float, str, Any]] = []  # narrow periods not drawn yet

    def stamp(ts: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))

    def bar(x0: float, x1: float, status: str, words: str) -> None:
        bars.append(f'<rect class="span status-{e(status)}" x="{x0:.1f}" y="4" '
                    f'width="{max(x1 - x0, 1):.1f}" height="24"><title>{e(words)}</title>'
                    "</rect>")

    def draw_group() -> None:
        if len(group) == 1:
            start, end, status, span = group[0]
            bar(_x(start, since, until), _x(end, since, until), status,
                f"{status} {stamp(start)} for {fmt_duration(end - start)}: {span.summary}")
        elif group:
            kinds = [status for _, _, status, _ in group]
            worst = min(kinds, key=WORST.index)
            counts = ", ".join(f"{k} {kinds.count(k)}" for k in WORST if k in kinds)
            bar(_x(group[0][0], since, until), _x(group[-1][1], since, until), worst,
                f"{len(group)} periods from {stamp(group[0][0])} to {stamp(group[-1][1])} "
                f"({counts}), worst {worst}")
        group.clear()

    for span in spans:
        start, end = max(span.start, since), min(span.end or until, until)
        if end <= start:
            continue
        status = _word(span)
        group.append((start, end, status, span))
        if _x(end, since, until) - _x(group[0][0], since, until) >= MIN_BAR:
            if len(group) > 1 and _x(end, since, until) - _x(start, since, until) >= MIN_BAR:
                group.pop()  # a wide period after narrow ones: each is drawn on its own
                draw_group()
                group.append((start, end, status, span))
            draw_group()
    draw_group()
    if not bars:
        return '<p class="muted">No results in this range yet.</p>'
    shown = ", ".join(f"{_word(s)} "
                      f"{fmt_duration(min(s.end or until, until) - max(s.start, since))}"
                      for s in spans[-6:])
    return (f'<svg class="timeline" viewBox="0 0 {W} 32" role="img" '
            f'aria-label="{e("Status over the range, latest periods: " + shown)}">'
            f'{"".join(bars)}</svg>')
