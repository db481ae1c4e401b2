"""The backup plugin's hooks: it only adds `nebula backup` and `nebula restore` to the CLI
(they work on the data dir's files, not through a running agent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [
        lazy_command("backup", "nebula.builtins.backup.cli:backup",
                     "Write the store, the secret key and the config to one archive."),
        lazy_command("restore", "nebula.builtins.backup.cli:restore",
                     "Restore a backup made by `nebula backup` into the data dir."),
    ]
