"""The `nebula` command. Heavy imports happen inside commands, so `--help` stays fast.

Plugins add commands through `nebula_cli_commands` (docs/plugins.md). The built-in
plugins' are listed every time: their hooks modules import nothing heavy and their
commands are lazy (nebula.helpers.cli), so the module behind `nebula jarvis` is imported
only when it runs. Installed plugins are read only when a command is not found otherwise
(`nebula <their command>`), since reading them costs every command their import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import click

from nebula import __version__
from nebula.cli.common import State


def _adopt(found: MutableMapping[str, click.Command], taken: Callable[[str], bool], plugin: str,
           commands: Any, core: Mapping[str, click.Command]) -> None:
    """Add one plugin's commands to `found`; a name already taken is skipped, loudly. A
    group named like a core group (`plugin`) adds its commands to that group instead."""
    for command in commands or ():
        if not isinstance(command, click.Command) or not command.name:
            click.echo(f"warning: plugin {plugin}: nebula_cli_commands returned "
                       f"{type(command).__name__}, not a named click command", err=True)
        elif isinstance(command, click.Group) and isinstance(
                group := core.get(command.name), click.Group):
            _adopt(group.commands, lambda _: False, plugin, command.commands.values(), {})
        elif taken(command.name) or command.name in found:
            click.echo(f"warning: plugin {plugin}: command {command.name!r} is taken; "
                       "skipped", err=True)
        else:
            found[command.name] = command


def _unavailable(plugin: str, exc: BaseException) -> None:
    from nebula.secrets import SECRETS

    click.echo(f"warning: plugin {plugin}: its commands are unavailable: "
               f"{SECRETS.redact(f'{type(exc).__name__}: {exc}')}", err=True)


def builtin_commands(taken: Callable[[str], bool], core: Mapping[str, click.Command]
                     ) -> dict[str, click.Command]:
    """The built-in plugins' commands, from their hooks modules registered with pluggy (so
    a misspelt hook is refused here as in the agent); one that fails is left out alone."""
    import importlib

    import pluggy

    from nebula import hookspecs
    from nebula.manifests import BUILTIN_PLUGINS, load_manifest

    pm = pluggy.PluginManager("nebula")
    pm.add_hookspecs(hookspecs)
    found: dict[str, click.Command] = {}
    for name, module in BUILTIN_PLUGINS.items():
        try:
            hooks = importlib.import_module(load_manifest(module).manifest.hooks)
            pm.register(hooks, name=name)
            call = getattr(hooks, "nebula_cli_commands", None)
            _adopt(found, taken, name, call() if call else (), core)
        except Exception as exc:
            _unavailable(name, exc)
    return found


def installed_commands(taken: Callable[[str], bool], core: Mapping[str, click.Command]
                       ) -> dict[str, click.Command]:
    """Commands of the plugins installed from entry points (not the built-ins)."""
    from nebula.plugins import PluginManager

    manager = PluginManager()
    found: dict[str, click.Command] = {}
    for record in sorted(manager.records.values(), key=lambda r: r.name):
        if record.builtin or not manager.load_hooks(record):
            continue
        try:
            _adopt(found, taken, record.name, manager.call(record, "nebula_cli_commands"),
                   core)
        except Exception as exc:
            _unavailable(record.name, exc)
    return found


class NebulaGroup(click.Group):
    """The core's commands first, then the plugins' (read on first use)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._builtin: dict[str, click.Command] | None = None
        self._installed: dict[str, click.Command] | None = None

    def _taken(self, name: str) -> bool:
        return name in self.commands

    def builtin(self) -> dict[str, click.Command]:
        if self._builtin is None:
            self._builtin = builtin_commands(self._taken, self.commands)
        return self._builtin

    def installed(self) -> dict[str, click.Command]:
        if self._installed is None:
            self._installed = installed_commands(
                lambda name: self._taken(name) or name in self.builtin(), self.commands)
        return self._installed

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # no traceback reaches the user: one line, an exit code
            from nebula.cli.common import fail_unexpected

            fail_unexpected(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.builtin()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, click.Group):
            self.builtin()  # built-ins may add commands to a core group
        return command or self.builtin().get(cmd_name) or self.installed().get(cmd_name)


@click.group(cls=NebulaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (default: $NEBULA_CONFIG, ./nebula.toml, then the user's "
                   "config dir; none at all means defaults).")
@click.version_option(__version__, prog_name="nebula")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Nebula Command: watch, fix and run one self-hosted server."""
    searched: list[Path] = []
    if config_path is None:
        from nebula.config import config_candidates, default_config_path

        config_path = default_config_path()
        searched = config_candidates() if config_path is None else []
    ctx.obj = State(config_path, searched)


def _register(modules: Iterable[Any]) -> None:
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


def _core_modules() -> list[Any]:
    from nebula.cli import action_cmds, agent_cmds, plugin_cmds, token_cmds

    return [agent_cmds, action_cmds, plugin_cmds, token_cmds]


_register(_core_modules())
