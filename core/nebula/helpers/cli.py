"""Commands a plugin adds to `nebula`, imported only when they run.

A plugin's `nebula_cli_commands` hook is called every time `nebula` starts, to list its
commands in `nebula --help`; so the hook should return `lazy_command`s, which carry a name
and a one-line help and import the module holding the real click command only when that
command (or its `--help`) is used:

    @hookimpl
    def nebula_cli_commands():
        return [lazy_command("backup", "nebula_backup.cli:backup", "Run and list backups.")]

The command reaches the agent through its HTTP API, as the core's commands do, with
`agent_api()`: the running agent (NEBULA_URL, or the one serving the config's data dir),
else a one-shot agent for the length of the command. An API error ends the command with
the problem's title and detail, as for the core's commands.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any, Protocol

import click


class LazyCommand(click.Command):
    """Stands in for the click command at `target` ("module:attribute") until it runs."""

    def __init__(self, name: str, target: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)
        self.target = target
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        if self._real is None:
            module, _, attribute = self.target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.target} is a {type(command).__name__}, not a click "
                                "command")
            self._real = command
        return self._real

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        # The real command parses its own arguments (and answers its own --help).
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return ctx.command.invoke(ctx)


def lazy_command(name: str, target: str, short_help: str) -> click.Command:
    """`nebula <name>`, running the click command at `target` ("module:attribute")."""
    return LazyCommand(name, target, short_help)


class AgentApi(Protocol):
    """The agent's HTTP API as a command sees it: JSON in, JSON out, paths under /api/v1."""

    def get(self, path: str) -> Any: ...

    def post(self, path: str, body: Any = None) -> Any: ...


@contextlib.contextmanager
def agent_api() -> Iterator[AgentApi]:
    """Inside a `nebula` command: a client of the agent the command is run against."""
    state = click.get_current_context().find_root().obj
    with state.agent_client() as client:
        yield client
