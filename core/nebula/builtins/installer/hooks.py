"""The installer plugin's hooks: its commands join the core's `plugin` group (a group named
like a core group adds its commands to it, docs/plugins.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    import click  # the agent registers this module too, and never needs click

    from nebula.helpers.cli import lazy_command

    def lazy(name: str, short_help: str) -> click.Command:
        return lazy_command(name, f"nebula.builtins.installer.cli:{name}", short_help)

    return [click.Group("plugin", commands=[
        lazy("install", "Install a plugin (NAME, PATH, WHEEL or git+URL), enable it and "
                        "reload a running agent."),
        lazy("uninstall", "Uninstall plugin NAME's distribution and drop its config section."),
        lazy("new", "Scaffold a plugin package NAME, ready for `nebula plugin install`."),
    ])]
