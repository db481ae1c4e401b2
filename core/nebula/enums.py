"""`StrEnum`: states and kinds the core names in words (plugin states, roles), whose members
compare equal to, serialise as and print as their value ("loaded", not
"PluginState.LOADED"), so answers, logs and messages read the same as plain strings did."""

from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - exercised on 3.10 only

    class StrEnum(str, enum.Enum):
        def __str__(self) -> str:
            return str.__str__(self)

        def __format__(self, format_spec: str) -> str:
            return str.__format__(self, format_spec)

__all__ = ["StrEnum"]
