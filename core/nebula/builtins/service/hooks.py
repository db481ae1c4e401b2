"""The service plugin's hooks: it only adds `nebula service` to the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("service", "nebula.builtins.service.cli:service",
                         "Run the agent as a systemd service: a unit, a system user, "
                         "/etc/nebula.")]
