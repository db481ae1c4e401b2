"""Numbers as people read them in summaries (the API keeps the raw numbers)."""

from __future__ import annotations

_RATE = ("B/s", "kB/s", "MB/s", "GB/s", "TB/s")


def rate(bytes_per_s: float) -> str:
    value, index = float(bytes_per_s), 0
    while value >= 1000 and index < len(_RATE) - 1:
        value, index = value / 1000, index + 1
    return f"{value:.0f} {_RATE[0]}" if index == 0 else f"{value:.1f} {_RATE[index]}"


def plural(n: float, word: str) -> str:
    count = f"{n:g}"
    return f"{count} {word}" if n == 1 else f"{count} {word}s"
