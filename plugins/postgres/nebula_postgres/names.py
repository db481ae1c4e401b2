"""Names that reach SQL: validated first, then quoted with psycopg.sql.Identifier.

Quoting alone would make `x"; DROP DATABASE y; --` harmless, but a database with that
name is never what the owner meant, so such names are refused with a clear error.
"""

from __future__ import annotations

import re

# What an unquoted PostgreSQL identifier may be, lower case only (an unquoted name is
# folded to lower case, so a mixed-case one would need quoting everywhere it is typed).
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Extension names also come with hyphens ("uuid-ossp").
_EXTENSION = re.compile(r"^[a-z_][a-z0-9_-]*$")
MAX_LENGTH = 63


class InvalidName(ValueError):
    """A name that is refused before any SQL runs."""


def identifier(name: str, what: str = "name") -> str:
    return _check(name, what, _IDENTIFIER, "lowercase letters, digits and _")


def extension(name: str) -> str:
    return _check(name, "extension name", _EXTENSION, "lowercase letters, digits, _ and -")


def _check(name: str, what: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(name, str) or not pattern.match(name) or len(name) > MAX_LENGTH:
        raise InvalidName(f"invalid {what} {name!r}: use {allowed}, starting with a letter "
                         f"or _, at most {MAX_LENGTH} characters")
    return name
