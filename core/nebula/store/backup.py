"""Where backups of Nebula's own state lived before the built-in `backup` plugin took them
(`nebula.builtins.backup.archive`): an alias for code that still imports them from here
(the nas plugin's tests), in the built-ins' layer (tests/test_layers.py). Import from
`nebula.builtins.backup.archive` instead; this module goes once nothing uses it."""

from __future__ import annotations

from nebula.builtins.backup.archive import (
    CONFIG,
    BackupError,
    default_name,
    install,
    verified,
    write_backup,
)

__all__ = ["CONFIG", "BackupError", "default_name", "install", "verified", "write_backup"]
