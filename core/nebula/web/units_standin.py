"""TEMPORARY stand-in for `nebula.units` (branch `history`, docs in notes/history_api.md):
the same names and signatures, so the panel's renderers switch to the real module by
changing one import. Delete once `nebula/units.py` is in main."""

from __future__ import annotations

import math
import time
from typing import Any

_BYTES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def plural(n: float, word: str) -> str:
    """ "1 database", "2 databases" (English -s; words ending in s/x/ch/sh take -es)."""
    if n == 1:
        return f"1 {word}"
    suffix = "es" if word.endswith(("s", "x", "ch", "sh")) else "s"
    count = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{count} {word}{suffix}"


def _number(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.2f}" if abs(v) >= 10 else f"{v:.3g}"


def _duration(seconds: float) -> str:
    s = abs(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.0f} s"
    parts = []
    for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if s >= size:
            parts.append(f"{int(s // size)} {name}")
            s %= size
    return " ".join(parts[:2])


def _ago(ts: float, now: float) -> str:
    delta = now - ts
    if abs(delta) < 45:
        return "just now"
    return f"{_duration(delta)} ago" if delta > 0 else f"in {_duration(delta)}"


def human(value: Any, unit: Any) -> str:
    unit = str(getattr(unit, "value", unit) or "none")
    if value is None:
        return ""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return str(value)
    if unit in ("bytes", "bytes_per_s"):
        n = 0
        while abs(v) >= 1024 and n < len(_BYTES) - 1:
            v /= 1024
            n += 1
        text = f"{v:.0f} {_BYTES[n]}" if n == 0 else f"{v:.1f} {_BYTES[n]}"
        return text + ("/s" if unit == "bytes_per_s" else "")
    if unit == "percent":
        return f"{v:.0f} %" if v >= 10 or v == int(v) else f"{v:.1f} %"
    if unit == "seconds":
        return _duration(v)
    if unit == "timestamp":
        local = time.strftime("%Y-%m-%d %H:%M", time.localtime(v))
        return f"{local} ({_ago(v, time.time())})"
    return _number(v)
