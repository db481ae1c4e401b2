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


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None]:
    """The bracket depth and the open multi-line string after `line`, so that lines inside
    a multi-line array or string are never taken for keys or table headers."""
    i = 0
    while i < len(line):
        if quote is not None:
            if quote[0] == '"' and line[i] == "\\":
                i += 2
            elif line.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        char = line[i]
        if char == "#":
            break
        if line.startswith(('"""', "'''"), i):
            quote, i = line[i:i + 3], i + 3
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    if quote is not None and len(quote) == 1:  # a one-line string cannot go on
        quote = None
    return depth, quote


class KeyLines:
    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        # Array-of-tables path → how many elements seen so far; `[[a.b]]` after the second
        # `[[a]]` belongs to `a.1`.
        self._arrays: dict[str, int] = {}
        prefix: list[str] = []
        depth, quote = 0, None
        for number, line in enumerate(text.splitlines(), start=1):
            in_value = depth > 0 or quote is not None
            depth, quote = _scan(line, depth, quote)
            if in_value:
                continue
            if header := _HEADER.match(line):
                parts = _parts(header.group(2))
                if header.group(1) == "[[":
                    table = [*self._within_arrays(parts[:-1]), parts[-1]]
                    dotted = ".".join(table)
                    index = self._arrays.get(dotted, 0)
                    self._arrays[dotted] = index + 1
                    self._add(table, number)
                    prefix = [*table, str(index)]
                else:
                    prefix = self._within_arrays(parts)
                self._add(prefix, number)
            elif key := _KEY.match(line):
                self._add([*prefix, *_parts(key.group(1))], number)

    def _within_arrays(self, parts: list[str]) -> list[str]:
        """`parts` with the current element's index after every array of tables."""
        out: list[str] = []
        for part in parts:
            out.append(part)
            if (count := self._arrays.get(".".join(out))) is not None:
                out.append(str(count - 1))
        return out

    def _add(self, parts: list[str], number: int) -> None:
        self._lines.setdefault(".".join(parts), number)

    def alias(self, path: str, other: str) -> None:
        """Place `path` on the line of `other` (a `password` read from `password_file`)."""
        if (line := self._lines.get(other)) is not None:
            self._lines.setdefault(path, line)

    def line_of(self, path: str) -> int | None:
        parts = path.split(".")
        while parts:
            if (found := self._lines.get(".".join(parts))) is not None:
                return found
            parts.pop()
        return None
