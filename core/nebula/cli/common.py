"""What every command shares: the config, the way to an agent, and output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from nebula.cli.client import Client
    from nebula.config import Config


@dataclass
class State:
    """The config the command runs with: `config_path` as given (--config, NEBULA_CONFIG)
    or found, else None with `searched` the places looked at (the defaults apply)."""

    config_path: Path | None
    searched: list[Path] = field(default_factory=list)
    _config: Config | None = None
    _agent_settings: Config | None = None
    _noted: bool = False

    @property
    def config(self) -> Config:
        """The whole config, every plugin section and its `${ENV}` secrets resolved: for
        commands that run an agent in this process or check the config."""
        if self._config is None:
            self._config = self._load(agent_only=False)
        return self._config

    @property
    def agent_settings(self) -> Config:
        """`[agent]` alone: enough to find a running agent (its data dir), so talking to
        one needs none of the plugins' secrets in this shell."""
        if self._config is not None:
            return self._config
        if self._agent_settings is None:
            self._agent_settings = self._load(agent_only=True)
        return self._agent_settings

    def agent_client(self) -> contextlib.AbstractContextManager[Client]:
        """The running agent, else a one-shot one: what a plugin's command reaches through
        `nebula.helpers.cli.agent_api` (it cannot import this module)."""
        return agent_client(self)

    def use(self, path: Path) -> None:
        """From now on, the config at `path` (a command just wrote it)."""
        self.config_path, self.searched = path, []
        self._config = self._agent_settings = None

    def _load(self, agent_only: bool) -> Config:
        from nebula.config import read
        from nebula.logs import configure

        config, problems = read(self.config_path, agent_only=agent_only)
        if problems or config is None:
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(2)
        configure("console" if sys.stderr.isatty() else "json", "warning")
        self._note_defaults(config)
        return config

    def _note_defaults(self, config: Config) -> None:
        """Say once that no config file was found, and where the CLI looked: run from
        another directory, the defaults (another data dir) are rarely what was meant."""
        if self.config_path is not None or self._noted:
            return
        self._noted = True
        looked = ", ".join(str(p.absolute()) for p in self.searched)
        click.echo(f"note: no config file found (looked for {looked}; --config or "
                   f"NEBULA_CONFIG names one); using the defaults, data dir "
                   f"{config.data_dir}", err=True)


pass_state = click.make_pass_decorator(State)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def running_agent(state: State) -> Client | None:
    """The agent to talk to, if one is up: NEBULA_URL's; with no config file found, the
    one this user started last (its runtime file in the user's runtime dir), wherever it
    was started; else the one serving the config's data dir."""
    from nebula.cli.client import agent_at, agent_from_env
    from nebula.runtime import RUNTIME_FILE, RuntimeInfo, user_runtime_file

    if (client := agent_from_env()) is not None:
        return client
    if state.config_path is None and (users := user_runtime_file()) is not None and (
            client := agent_at(users)) is not None:
        if info := RuntimeInfo.read_file(users):
            click.echo(f"note: no config file found; using the agent this user started "
                       f"(config {info.config or 'none, defaults'}, data dir "
                       f"{info.data_dir})", err=True)
        return client
    return agent_at(state.agent_settings.data_dir / RUNTIME_FILE)


@contextlib.contextmanager
def agent_client(state: State) -> Iterator[Client]:
    """The running agent if there is one, else a one-shot agent for this command."""
    from nebula.cli.client import ApiError, OneShotAgent
    from nebula.runtime import AlreadyRunning

    try:
        if (client := running_agent(state)) is not None:
            yield client
            return
        with OneShotAgent(state.config) as client:
            yield client
    except ApiError as exc:
        fail_api(exc)
    except AlreadyRunning as exc:
        raise click.ClickException(
            f"{exc}, but its runtime file is not readable here; set NEBULA_URL and "
            "NEBULA_TOKEN") from None


def fail_api(exc: Any) -> NoReturn:
    body = exc.body
    click.echo(f"error: {body.get('title', 'error')}: {body.get('detail', '')}".rstrip(": "),
               err=True)
    for item in body.get("errors", []):
        click.echo(f"  - {item if isinstance(item, str) else _fmt_error(item)}", err=True)
    sys.exit(2 if 400 <= exc.status < 500 else 1)


# sysexits.h: a bug (anything the CLI did not expect) is EX_SOFTWARE; the agent's absence,
# silence or broken answer have their own codes (nebula.cli.client.TransportError).
EXIT_INTERNAL = 70


def fail_unexpected(exc: Exception) -> NoReturn:
    """End the command on an error nothing else handled, with one line on stderr: the
    agent unreachable, silent or gone mid-answer (each its own exit code), or a bug,
    whose traceback NEBULA_DEBUG=1 shows."""
    import os

    from nebula.cli.client import ApiError, TransportError
    from nebula.errors import NebulaError
    from nebula.secrets import SECRETS

    if isinstance(exc, TransportError):
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, ApiError):
        fail_api(exc)
    if isinstance(exc, NebulaError):  # the core refused, saying why (a store too new, ...)
        click.echo(SECRETS.redact(f"error: {exc}"), err=True)
        sys.exit(1)
    if os.environ.get("NEBULA_DEBUG"):
        raise exc
    click.echo(SECRETS.redact(f"error: unexpected {type(exc).__name__}: {exc} (set "
                              "NEBULA_DEBUG=1 for the traceback)"), err=True)
    sys.exit(EXIT_INTERNAL)


def _fmt_error(item: dict[str, Any]) -> str:
    return f"{item.get('path', '')}: {item.get('message', '')}"


def output(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human(data)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain aligned table; the last column may be as long as it needs."""
    cells = [list(map(str, headers)), *([("" if c is None else str(c)) for c in r] for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True))
        click.echo(f"{line}  {row[-1]}".rstrip() if len(row) > 1 else row[0],
                   nl=True, err=False, color=None)
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


STATUS_MARK = {"ok": "✔ ok", "warning": "▲ warning", "critical": "✖ critical",
               "unknown": "? unknown"}


class CoreGroup(click.Group):
    """A core command group (`nebula plugin`) plugins may add commands to, by returning a
    group of the same name from `nebula_cli_commands`: built-ins' are there from the start,
    installed plugins' are read when a name is not found (as for top-level commands)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        installed = getattr(ctx.find_root().command, "installed", None)
        if command is None and installed is not None:
            installed()
            command = super().get_command(ctx, cmd_name)
        return command
