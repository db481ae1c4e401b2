"""Where each key of a TOML document sits, so config errors can name a line.

tomllib gives values without positions; this scanner reads the text once and maps every
dotted key path (`plugins.system.disk_warning`, `plugins.postgres.databases.0.name`) to
the line that sets it. Keys it cannot place (inside inline tables) fall back to the
nearest enclosing key that it can.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_SIMPLE_KEY = r""""[^"]*"|'[^']*'|[A-Za-z0-9_\-]+"""
_KEY = re.compile(rf"^\s*((?:{_SIMPLE_KEY})(?:\s*\.\s*(?:{_SIMPLE_KEY}))*)\s*=")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+)""")


def _parts(dotted: str) -> list[str]:
    return [a or b or c for a, b, c in _PART.findall(dotted)]


class KeyLines:
    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        array_counts: dict[str, int] = {}
        prefix: list[str] = []
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            if line.count('"""') % 2 or line.count("'''") % 2:
                in_multiline = not in_multiline
                if in_multiline and (m := _KEY.match(line)):
                    self._add([*prefix, *_parts(m.group(1))], number)
                continue
            if in_multiline:
                continue
            if header := _HEADER.match(line):
                parts = _parts(header.group(2))
                if header.group(1) == "[[":
                    table = ".".join(parts)
                    index = array_counts.get(table, 0)
                    array_counts[table] = index + 1
                    parts = [*parts, str(index)]
                prefix = parts
                self._add(prefix, number)
            elif key := _KEY.match(line):
                self._add([*prefix, *_parts(key.group(1))], number)

    def _add(self, parts: list[str], number: int) -> None:
        self._lines.setdefault(".".join(parts), number)

    def line_of(self, path: str) -> int | None:
        parts = path.split(".")
        while parts:
            if (found := self._lines.get(".".join(parts))) is not None:
                return found
            parts.pop()
        return None
