"""One value as people read it: the unit a field declares (or, for an action's result, one
read from the key's name) turned into GiB, "3 d 4 h", "91 %", a local time; lists as
comma-separated words, never a Python repr. The API keeps the raw numbers; this is only
for the panel's HTML.

Units are the `nebula.api.Unit` names (`bytes`, `bytes_per_s`, `percent`, `seconds`,
`timestamp`, `count`, `none`); the free-text units fields declared before those existed
("%", "s", "epoch s", "bytes/s") are read as the same, and any other ("ms", "kbps",
"lines") is written after the number.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

from nebula.units import human
from nebula.web.html import e

ALIASES = {
    "bytes": "bytes", "b": "bytes", "byte": "bytes",
    "bytes_per_s": "bytes_per_s", "bytes/s": "bytes_per_s", "b/s": "bytes_per_s",
    "percent": "percent", "%": "percent",
    "seconds": "seconds", "s": "seconds", "sec": "seconds",
    "timestamp": "timestamp", "epoch s": "timestamp", "epoch": "timestamp",
    "count": "count", "none": "none", "": "none",
}
# Epoch seconds between 2001 and 2096: a "seconds" field holding one is a time, not an age
# (the notifications panel declared its times in "s" and showed 1.797e+09).
EPOCH = (1e9, 4e9)
# An action's result declares no units: these key names say which one a number is in.
_KEY_UNITS = (
    (re.compile(r"(^|_)(pct|percent)$|_percent_|^percent"), "percent"),
    (re.compile(r"(^|_)(bytes|size|size_bytes|rss|vms|memory_bytes)$"), "bytes"),
    (re.compile(r"(^|_)bytes_per_s$|_bps$"), "bytes_per_s"),
    (re.compile(r"(^|_)(ts|time|at|created|started|updated|finished|modified|since|when|"
                r"expires|last_seen|last_run)$|_at$|_time$|_ts$"), "timestamp"),
    (re.compile(r"(^|_)(uptime|age|duration|duration_s|seconds|elapsed)$|_s$|_seconds$"),
     "seconds"),
)


def unit_for(unit: Any, key: str = "", value: Any = None) -> tuple[str, str]:
    """(a Unit name, extra text after the number) for a declared unit or, with none, the
    key's name."""
    raw = str(getattr(unit, "value", unit) or "").strip()
    name = ALIASES.get(raw.lower())
    if name is None:
        return "none", raw
    if name == "none" and key:
        name = next((u for pattern, u in _KEY_UNITS if pattern.search(key.lower())), "none")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if name in ("seconds", "none") and number and EPOCH[0] <= value <= EPOCH[1] and (
            name == "seconds" or _timeish(key)):
        return "timestamp", ""
    if name == "timestamp" and number and not EPOCH[0] <= value <= EPOCH[1]:
        return "none", ""  # not a time after all (a zero, a count by mistake)
    return name, ""


def _timeish(key: str) -> bool:
    return any(u == "timestamp" and p.search(key.lower()) for p, u in _KEY_UNITS)


def text(value: Any, unit: Any = "", key: str = "") -> str:
    """The value as plain words (escape it before it goes into HTML)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text(v, '', str(k))}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(t for t in (text(v, unit, key) for v in value) if t)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        name, extra = unit_for(unit, key, value)
        if name == "none" and isinstance(value, int) and not extra:
            return str(value)  # a port, a PID, a year: no thousands separator
        shown = human(value, name)
        return f"{shown} {extra}" if extra else shown
    return str(value)


def cell(value: Any, unit: Any = "", key: str = "") -> str:
    """The value as HTML: a time carries its exact UTC moment for machines and tooltips; an
    empty value is a muted dash."""
    shown = text(value, unit, key)
    if not shown:
        return '<span class="muted" aria-label="empty">—</span>'
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and unit_for(unit, key, value)[0] == "timestamp":
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
        return f'<time datetime="{iso}" title="{iso}">{e(shown)}</time>'
    return e(shown)
