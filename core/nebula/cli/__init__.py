"""The `nebula` command. Heavy imports happen inside commands, so `--help` stays fast."""

from __future__ import annotations

from pathlib import Path

import click

from nebula import __version__
from nebula.cli.common import State


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (default: $NEBULA_CONFIG, ./nebula.toml, then the user's "
                   "config dir; none at all means defaults).")
@click.version_option(__version__, prog_name="nebula")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Nebula Command: watch, fix and run one self-hosted server."""
    if config_path is None:
        from nebula.config import default_config_path

        config_path = default_config_path()
    ctx.obj = State(config_path)


def _register() -> None:
    from nebula.cli import (
        action_cmds,
        agent_cmds,
        jarvis_cmds,
        plugin_cmds,
        remediation_cmds,
        token_cmds,
        user_cmds,
    )

    for module in (agent_cmds, action_cmds, jarvis_cmds, plugin_cmds, remediation_cmds,
                   token_cmds, user_cmds):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
