"""nebula.units: one formatter for every unit, at the edges where formatters go wrong."""

from __future__ import annotations

import time

import pytest

from nebula.api import Check, CheckResult, Field, Status, Unit, human, plural
from nebula.units import ago, duration


@pytest.mark.parametrize(("value", "unit", "shown"), [
    # IEC sizes: the raw 270553174016 is what `df -h` calls 252G.
    (270553174016, Unit.BYTES, "252.0 GiB"),
    (0, Unit.BYTES, "0 B"),
    (1023, Unit.BYTES, "1023 B"),
    (1023.6, Unit.BYTES, "1.0 KiB"),  # rounds up into the next prefix, never "1024 B"
    (1024, Unit.BYTES, "1.0 KiB"),
    (1048575, Unit.BYTES, "1.0 MiB"),  # not "1024.0 KiB"
    (-2048, Unit.BYTES, "-2.0 KiB"),
    (2 ** 70, Unit.BYTES, "1024.0 EiB"),  # past the last prefix
    # SI rates: the 1.246e+06.
    (1.246e6, Unit.BYTES_PER_S, "1.2 MB/s"),
    (999.96, Unit.BYTES_PER_S, "1.0 kB/s"),
    (0, Unit.BYTES_PER_S, "0 B/s"),
    (91.4, Unit.PERCENT, "91 %"),
    (9.55, Unit.PERCENT, "9.6 %"),
    (100, Unit.PERCENT, "100 %"),
    (0, Unit.PERCENT, "0 %"),
    (273600, Unit.SECONDS, "3 d 4 h"),
    (86400, Unit.SECONDS, "1 d"),
    (90061, Unit.SECONDS, "1 d 1 h"),  # the two largest parts
    (3660, Unit.SECONDS, "1 h 1 min"),
    (59.6, Unit.SECONDS, "1 min"),  # rounded before splitting: not "60 s"
    (42, Unit.SECONDS, "42 s"),
    (0.25, Unit.SECONDS, "250 ms"),
    (0, Unit.SECONDS, "0 s"),
    (-90, Unit.SECONDS, "-1 min 30 s"),
    (1234567, Unit.COUNT, "1,234,567"),
    (2.5, Unit.COUNT, "2.5"),
    (1.23456, Unit.NONE, "1.23"),
    (1.23456, None, "1.23"),
    (45.25, "°C", "45.25 °C"),  # a free unit follows the number
    ("percent", "percent", "percent"),  # the unit may be given by name
    (float("nan"), Unit.BYTES, "—"),
    (float("inf"), Unit.PERCENT, "—"),
    (10 ** 400, Unit.BYTES, "—"),
    (None, Unit.BYTES, "—"),
    (True, None, "yes"),
    ("text", Unit.BYTES, "text"),
])
def test_human(value, unit, shown):
    assert human(value, unit) == shown


def test_a_unit_given_by_its_name_is_the_unit():
    assert human(2048, "bytes") == human(2048, Unit.BYTES) == "2.0 KiB"
    assert human(50, "percent") == "50 %"


def test_timestamps_are_local_time_and_how_long_ago():
    now = 1_780_000_000.0
    local = time.strftime("%Y-%m-%d %H:%M", time.localtime(now - 180))
    assert human(now - 180, Unit.TIMESTAMP, now=now) == f"{local} (3 min ago)"
    assert human(now + 7200, Unit.TIMESTAMP, now=now).endswith("(in 2 h)")
    assert human(now - 2, Unit.TIMESTAMP, now=now).endswith("(just now)")
    assert ago(now - 3 * 86400 - 5000, now) == "3 d ago"
    assert duration(273600, parts=1) == "3 d"


@pytest.mark.parametrize(("n", "word", "many", "shown"), [
    (1, "database", None, "1 database"),
    (0, "database", None, "0 databases"),
    (2, "database", None, "2 databases"),
    (2, "match", None, "2 matches"),
    (3, "policy", None, "3 policies"),
    (2, "day", None, "2 days"),  # a vowel before the y
    (2, "box", None, "2 boxes"),
    (1234, "row", None, "1,234 rows"),
    (1.5, "hour", None, "1.5 hours"),
    (2, "child", "children", "2 children"),
    (1, "child", "children", "1 child"),
])
def test_plural(n, word, many, shown):
    assert plural(n, word, many) == shown


def test_units_are_part_of_the_contract():
    async def run() -> CheckResult:
        return CheckResult(Status.OK, "")

    check = Check("disk", run, units={"used": Unit.BYTES, "used_pct": Unit.PERCENT})
    assert check.units["used"] is Unit.BYTES
    assert Check("x", run).units == {}
    assert hash(check) == hash(Check("disk", run))  # still hashable, units aside
    assert Field("size", "Size", Unit.BYTES).unit == "bytes"  # a str: JSON as its name
    assert [u.value for u in Unit] == ["bytes", "bytes_per_s", "percent", "seconds",
                                       "timestamp", "count", "none"]
