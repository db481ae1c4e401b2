"""A line's level, read from what the line itself says: a JSON object's level field, a
logfmt `level=` pair, or a common prefix (`ERROR`, `[warn]`, `W1208 …` of glog, `<3>` of
the kernel and sd-daemon). Levels are syslog severities (0 emerg … 7 debug), so syslog and
the journal, which carry one, land on the same scale; None when the line says nothing.

Only the first `HEAD` characters are looked at: a 1 MB line costs what a short one does.
"""

from __future__ import annotations

import json
import re

NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
HEAD = 200

# Words programs write for a level, to its severity.
_WORDS = {
    "emerg": 0, "emergency": 0, "panic": 0, "alert": 1, "fatal": 2, "crit": 2,
    "critical": 2, "err": 3, "error": 3, "eror": 3, "warn": 4, "warning": 4, "notice": 5,
    "info": 6, "information": 6, "informational": 6, "debug": 7, "dbug": 7, "trace": 7,
}
# The names a user may give for `--level`, besides the severities' own numbers.
ALIASES = {**_WORDS, **{name: number for number, name in enumerate(NAMES)}}

_JSON_KEYS = ("level", "severity", "lvl", "loglevel", "log.level", "levelname")
_LOGFMT = re.compile(r'(?:^|\s)(?:level|lvl|severity)="?([A-Za-z]+)', re.IGNORECASE)
# The level word first, or after up to three tokens holding a digit or a bracket (a date,
# a time, `app[123]:`), so "an error happened" is not an error line. A token is `\S+`
# (then `\s+`, a class it cannot overlap) with a look-ahead for the digit: linear, where
# `\S*\d\S*` backtracks without end on long runs of digits.
_PREFIX = re.compile(
    r"^(?:(?=\S*[\d\[])\S+\s+){0,3}?[\[(<]?(" + "|".join(sorted(_WORDS, key=len, reverse=True))
    + r")[\])>:|]?(?=\s|$)", re.IGNORECASE)
_GLOG = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d")
_KERNEL = re.compile(r"^<([0-7])>")


def parse_level(message: str) -> int | None:
    """The severity `message` declares, or None."""
    head = message[:HEAD]
    if head.startswith("{"):
        level = _json_level(message)
        if level is not None:
            return level
    if match := _KERNEL.match(head):
        return int(match.group(1))
    if match := _LOGFMT.search(head):
        return _WORDS.get(match.group(1).lower())
    if match := _GLOG.match(head):
        return {"I": 6, "W": 4, "E": 3, "F": 2}[match.group(1)]
    if match := _PREFIX.match(head):
        return _WORDS[match.group(1).lower()]
    return None


def _json_level(message: str) -> int | None:
    if len(message) > 65536:
        return None  # a huge JSON line is not worth decoding for its level
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in _JSON_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.lower() in _WORDS:
            return _WORDS[value.lower()]
        if isinstance(value, int) and not isinstance(value, bool):
            return _numeric(value)
    return None


def _numeric(value: int) -> int | None:
    """A number as a level: 0-7 is already a severity; bunyan/pino use 10 trace … 60 fatal."""
    if 0 <= value <= 7:
        return value
    return {10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2}.get(value)


def level_number(name: str) -> int:
    """`--level` as the user wrote it (a name or a severity number) to its severity."""
    key = name.strip().lower()
    if key.isdigit() and 0 <= int(key) <= 7:
        return int(key)
    if key not in ALIASES:
        raise ValueError(f"unknown level {name!r}: use one of {', '.join(NAMES)} or 0-7")
    return ALIASES[key]


def level_name(level: int | None) -> str | None:
    return None if level is None else NAMES[level]
