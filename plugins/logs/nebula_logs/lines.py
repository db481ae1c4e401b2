"""What a source hands the store: one `Line`, its text made safe to keep and to show.

Whatever a program wrote is accepted: invalid UTF-8 is decoded with U+FFFD in place of the
bad bytes, terminal colour codes are dropped, other control bytes (binary garbage, NULs)
become U+FFFD, and a line longer than `max_bytes` is cut there with a note of how much was
left out, so a 1 MB line costs a bounded row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nebula_logs.levels import parse_level

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Line:
    ts: float
    source: str
    message: str
    level: int | None = None
    host: str = ""
    unit: str = ""


def clean(raw: bytes | str, max_bytes: int) -> str:
    """`raw` (one line, without its newline) as text fit to store."""
    cut = 0
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if len(raw) > max_bytes:
        cut, raw = len(raw) - max_bytes, raw[:max_bytes]
    text = raw.decode("utf-8", "replace").rstrip("\r")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _CONTROL.sub("\ufffd", text)
    if cut:
        text += f" …[{cut} bytes cut]"
    return text


def make_line(raw: bytes | str, ts: float, source: str, max_bytes: int, *,
              level: int | None = None, host: str = "", unit: str = "") -> Line:
    """A line from raw text; its level is parsed from the text unless the source knew it."""
    message = clean(raw, max_bytes)
    return Line(ts, source, message, parse_level(message) if level is None else level,
                host, unit)
