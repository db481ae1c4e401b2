"""The `[[maintenance]]` section (one table per window) and the ad-hoc start's body: plain
data and one check of what a JSON Schema cannot say (run by the config loader, so its
problems carry the file, line and key like every other config problem)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nebula.manifests import SectionProblems, named_tables

NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64}
DURATION: dict[str, Any] = {
    "type": ["number", "string"],
    "description": "Seconds, or text like 30m, 2h, 1h30m, 1d."}
TARGETS: dict[str, Any] = {
    "checks": {"type": "array", "items": {"type": "string", "minLength": 1},
               "description": "Checks covered, by name or fnmatch pattern (docker.*)."},
    "plugins": {"type": "array", "items": {"type": "string", "minLength": 1},
                "description": "Plugins whose every check is covered."},
}

WINDOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {**NAME, "description": "Unique; `nebula maintenance stop NAME`."},
        "reason": {"type": "string", "default": "",
                   "description": "Why (shown in the panel, the CLI and the events)."},
        "start": {"type": "string", "description": "One-off: ISO 8601 time it opens "
                  "(quoted; without an offset it is read in `timezone`)."},
        "end": {"type": "string", "description": "One-off: ISO 8601 time it closes."},
        "cron": {"type": "string", "description": "Recurring: when it opens, a cron "
                 "expression read in `timezone` (\"0 3 * * 0\": Sundays 03:00)."},
        "duration": {**DURATION, "description": "Recurring: how long it stays open."},
        "timezone": {"type": "string", "default": "UTC",
                     "description": "IANA time zone of `cron` and of offset-less times."},
        **TARGETS,
        "enabled": {"type": "boolean", "default": True},
    },
}

SECTION_SCHEMA: dict[str, Any] = {"type": "array", "items": WINDOW_SCHEMA}

START_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["duration"],
    "properties": {
        "duration": DURATION,
        "name": {**NAME, "description": "Default: adhoc-<time>."},
        "reason": {"type": "string", "maxLength": 500},
        # The panel's form sends text: a comma- or space-separated list is taken too.
        "checks": {"type": ["array", "string"], "items": {"type": "string", "minLength": 1},
                   "description": "Checks covered (names or patterns); none and no "
                                  "plugins: every check."},
        "plugins": {"type": ["array", "string"], "items": {"type": "string", "minLength": 1},
                    "description": "Plugins whose checks are covered."},
    },
}


def _window_problems(window: dict[str, Any]) -> Iterator[tuple[str, str]]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from nebula.builtins.maintenance.windows import parse_duration, parse_time

    zone = window.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        yield "timezone", f"unknown time zone {zone!r} (an IANA name: Europe/Berlin, UTC)"
        zone = "UTC"
    once = [key for key in ("start", "end") if key in window]
    recurring = [key for key in ("cron", "duration") if key in window]
    if once and recurring:
        yield "", "either start and end (one-off) or cron and duration (recurring), not both"
    elif not recurring and len(once) != 2:
        yield "", "needs start and end (one-off) or cron and duration (recurring)"
    elif once:
        try:
            start, end = (parse_time(window[k], zone) for k in ("start", "end"))
        except (TypeError, ValueError) as exc:
            yield "", f"start/end must be ISO 8601 times: {exc}"
        else:
            if end <= start:
                yield "end", "must be after start"
    elif len(recurring) != 2:
        yield "", "a recurring window needs both cron and duration"
    else:
        from croniter import croniter

        if not isinstance(window["cron"], str) or not croniter.is_valid(window["cron"]):
            yield "cron", f"{window['cron']!r} is not a cron expression (\"0 3 * * 0\")"
        try:
            parse_duration(window["duration"])
        except ValueError as exc:
            yield "duration", str(exc)


def check_windows(value: Any) -> SectionProblems:
    """What the schema cannot say: an array of tables, unique names, one kind of window
    each, a cron expression and time zone that exist, an end after the start."""
    yield from named_tables(value, "maintenance", "window")
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return
    for index, window in enumerate(value):
        for where, message in _window_problems(window):
            yield (f"{index}.{where}" if where else str(index)), message
