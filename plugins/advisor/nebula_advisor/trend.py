"""Trends that see trouble coming: a robust slope through a metric's history and when it
reaches a limit at that rate.

The slope is Theil-Sen's (the median of the slopes between every pair of points), which a
few spikes (a backup's temporary files, a log burst) do not tilt the way they tilt a
least-squares line; its cost is quadratic, so it runs on the history's rollups (about 120
points for a window), not on raw results.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class Trend:
    slope_per_day: float
    level: float  # the fitted value at the newest sample
    points: int
    span_days: float

    def days_until(self, limit: float) -> float | None:
        """Days until the fitted line reaches `limit`; None when it does not rise towards
        it (flat, falling, or already past it is for the caller's own check)."""
        if self.slope_per_day <= 0 or self.level >= limit:
            return None
        return (limit - self.level) / self.slope_per_day


def theil_sen(samples: Sequence[Any]) -> Trend | None:
    """The trend of `samples` (oldest first, each with `ts` and `avg`); None with fewer
    than 3 points or less than a day of history (too little to say)."""
    if len(samples) < 3:
        return None
    span = (samples[-1].ts - samples[0].ts) / DAY
    if span < 1:
        return None
    slopes = [(b.avg - a.avg) / ((b.ts - a.ts) / DAY)
              for i, a in enumerate(samples) for b in samples[i + 1:] if b.ts > a.ts]
    slope = statistics.median(slopes)
    newest = samples[-1].ts
    # The line's intercept, also a median, so one odd point does not move the level.
    level = statistics.median(s.avg + slope * (newest - s.ts) / DAY for s in samples)
    return Trend(slope, level, len(samples), span)
