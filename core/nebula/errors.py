"""`NebulaError`: the base of the core's own exceptions, so a caller (the CLI, an embedding
program) can tell "the agent refused" from a bug with one `except`. Each subclass keeps the
built-in base it always had (`KeyError` for a name not found, `ValueError` for bad input),
so existing handlers still catch it."""

from __future__ import annotations


class NebulaError(Exception):
    """Something the core refused or could not do; the message says why."""
