"""What every command shares: the config, the way to an agent, and output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from nebula.cli.client import Client
    from nebula.config import Config


@dataclass
class State:
    config_path: Path | None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from nebula.config import ConfigError, load
            from nebula.logs import configure

            try:
                self._config = load(self.config_path)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"error: {problem}", err=True)
                sys.exit(2)
            configure("console" if sys.stderr.isatty() else "json", "warning")
        return self._config


pass_state = click.make_pass_decorator(State)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@contextlib.contextmanager
def agent_client(state: State) -> Iterator[Client]:
    """The running agent if there is one, else a one-shot agent for this command."""
    from nebula.cli.client import ApiError, OneShotAgent, running_agent
    from nebula.runtime import AlreadyRunning

    try:
        if (client := running_agent(state.config)) is not None:
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
    from nebula.secrets import SECRETS

    if isinstance(exc, TransportError):
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, ApiError):
        fail_api(exc)
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
