"""Units of metrics and fields, and the one formatter that shows them to people.

The API and the store keep raw numbers; only text meant for a person (panel HTML, CLI
tables, summaries) goes through `human`. Sizes use IEC binary prefixes (a disk of
270553174016 bytes is "252.0 GiB", as `df -h` and file managers count), rates SI decimal
ones ("1.2 MB/s", as network tools count), durations their two largest parts ("3 d 4 h").
"""

from __future__ import annotations

import enum
import math
import time
from typing import Any


class Unit(str, enum.Enum):
    """What a metric's or a field's number measures."""

    BYTES = "bytes"
    BYTES_PER_S = "bytes_per_s"
    PERCENT = "percent"
    SECONDS = "seconds"
    TIMESTAMP = "timestamp"  # epoch seconds
    COUNT = "count"
    NONE = "none"


MISSING = "—"
_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SI_RATE = ("B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s")
_DURATION = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def _number(value: float, decimals: int = 1) -> str:
    """`value` with at most `decimals` decimals and no trailing zeros, grouped by
    thousands: 1234.5 → "1,234.5", 5.0 → "5"."""
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(value: float, step: float, names: tuple[str, ...]) -> str:
    magnitude, index = abs(value), 0
    # Move up while the number would round to `step` or more in this prefix.
    while index < len(names) - 1 and round(magnitude, 1 if index else 0) >= step:
        magnitude, index = magnitude / step, index + 1
    sign = "-" if value < 0 else ""
    return f"{sign}{magnitude:.0f} {names[0]}" if index == 0 \
        else f"{sign}{magnitude:.1f} {names[index]}"


def duration(seconds: float, parts: int = 2) -> str:
    """A span of time in its `parts` largest units: 273600 → "3 d 4 h", 42 → "42 s",
    0.25 → "250 ms"."""
    sign, rest = ("-" if seconds < 0 else ""), abs(seconds)
    if rest < 1:
        return f"{sign}{rest * 1000:.0f} ms" if rest else "0 s"
    rest = round(rest)
    shown: list[str] = []
    for name, size in _DURATION:
        if rest >= size or (name == "s" and not shown):
            count, rest = divmod(rest, size)
            shown.append(f"{count} {name}")
        elif shown:  # "3 d 0 h 5 min" would read wrong: stop at the first empty part
            break
        if len(shown) == parts:
            break
    return sign + " ".join(shown)


def ago(ts: float, now: float | None = None) -> str:
    """How long before (or after) `now` the moment `ts` is: "3 min ago", "in 2 h"."""
    delta = (time.time() if now is None else now) - ts
    if abs(delta) < 5:
        return "just now"
    words = duration(abs(delta), parts=1)
    return f"{words} ago" if delta > 0 else f"in {words}"


def human(value: Any, unit: Unit | str | None = None, now: float | None = None) -> str:
    """`value` in `unit` as a person reads it. A unit outside `Unit` (a field's "°C", "h")
    is written after the number; None, NaN and infinities show as a dash, text as itself."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else ("yes" if value is True else
                                               "no" if value is False else str(value))
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return MISSING
    if not math.isfinite(number):
        return MISSING
    match Unit(unit) if unit in Unit._value2member_map_ else unit:
        case Unit.BYTES:
            return _scaled(number, 1024, _IEC)
        case Unit.BYTES_PER_S:
            return _scaled(number, 1000, _SI_RATE)
        case Unit.PERCENT:
            return f"{_number(number, 0 if abs(number) >= 10 else 1)} %"
        case Unit.SECONDS:
            return duration(number)
        case Unit.TIMESTAMP:
            local = time.strftime("%Y-%m-%d %H:%M", time.localtime(number))
            return f"{local} ({ago(number, now)})"
        case Unit.COUNT:
            return _number(number, 0 if number.is_integer() else 1)
        case Unit.NONE | None | "":
            return _number(number, 2)
        case other:
            return f"{_number(number, 2)} {other}"


def plural(n: float, word: str, many: str | None = None) -> str:
    """`n` and `word` in agreement: plural(1, "database") → "1 database",
    plural(2, "database") → "2 databases", plural(3, "match") → "3 matches";
    `many` names an irregular plural (plural(2, "child", "children"))."""
    if n == 1:
        return f"1 {word}"
    if many is None:
        if word.endswith(("s", "x", "z", "ch", "sh")):
            many = word + "es"
        elif len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
            many = word[:-1] + "ies"
        else:
            many = word + "s"
    count = _number(float(n), 0 if float(n).is_integer() else 1)
    return f"{count} {many}"
