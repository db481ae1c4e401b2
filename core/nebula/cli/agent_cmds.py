"""init, run, status, check, config: the agent's own commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from nebula.cli.common import (
    STATUS_MARK,
    CoreGroup,
    State,
    agent_client,
    fail_api,
    json_option,
    output,
    pass_state,
    running_agent,
    table,
)


@click.command()
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the config (default: --config, else ./nebula.toml).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the agent keeps its store (default: the user's state dir); "
                   "written into the config, with the token created there.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--user", "user_name", metavar="NAME",
              help="Also create NAME, the web panel's first admin (asks for a password).")
@click.option("--password-file", type=click.File("r"),
              help="Read --user's password from this file's first line ('-': stdin).")
@json_option
@pass_state
def init(state: State, path: Path | None, data_dir: Path | None, force: bool,
         user_name: str | None, password_file: Any, as_json: bool) -> None:
    """Write a commented nebula.toml and create the first admin API token (and with
    --user, the first admin who signs in to the web panel)."""
    import asyncio

    from nebula.bootstrap import create_first_token, panel_url, write_default_config
    from nebula.config import default_data_dir
    from nebula.filemodes import restrict_umask

    restrict_umask()  # it writes the config and makes the data dir and the store
    target = path or state.config_path or Path("nebula.toml")
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; use --force to overwrite it")
    if password_file is not None and not user_name:
        raise click.UsageError("--password-file is for --user's password")
    password = None
    if user_name:  # asked before anything is written, so a typo leaves nothing half done
        password = (password_file.readline().rstrip("\r\n") if password_file else
                    click.prompt(f"Password for {user_name}", hide_input=True,
                                 confirmation_prompt=True))
    # Absolute: the agent may be started from anywhere with this file.
    data_dir = (data_dir or Path(default_data_dir())).expanduser().absolute()
    write_default_config(target, data_dir)
    state.use(target)
    token = asyncio.run(create_first_token(state.config))
    data = {"config": str(target), "data_dir": str(state.config.data_dir), "token": token,
            "panel_url": panel_url(state.config), "user": None}
    refused = None
    if user_name:
        from nebula.cli.client import ApiError

        with agent_client(state) as client:  # as `nebula user add` does
            try:
                data["user"] = client.post("/api/v1/users",
                                           {"name": user_name, "password": password})["name"]
            except ApiError as exc:  # a short password: the token is still shown below
                refused = exc

    def human(d: dict[str, Any]) -> None:
        click.echo(f"Wrote {d['config']} (data dir {d['data_dir']}).\nFirst admin API token "
                   f"(shown once, store it now):\n  {d['token']['token']}")
        signing_in = (f"sign in as {d['user']}" if d["user"] else
                      "with no user yet, create the first admin with the setup code "
                      "`nebula run` prints (or `nebula user add NAME`)")
        click.echo(f"Panel: {d['panel_url']} ({signing_in})")

    output(data, as_json, human)
    if refused is not None:
        fail_api(refused)


@click.command(name="run")
@pass_state
def run(state: State) -> None:
    """Run the agent in the foreground (SIGTERM/Ctrl-C stop it, SIGHUP reloads the config)."""
    import asyncio

    from nebula.logs import configure
    from nebula.runtime import AlreadyRunning, serve

    config = state.config
    configure(config.agent["log_format"], config.agent["log_level"])
    try:
        asyncio.run(serve(config))
    except AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.agent['bind']}:{config.agent['port']}: {exc.strerror}"
        ) from None


@click.command()
@json_option
@pass_state
def status(state: State, as_json: bool) -> None:
    """Is the agent running, and how are its plugins and checks?"""
    client = running_agent(state)
    if client is None:
        output({"running": False}, as_json, lambda _: click.echo("agent: not running"))
        sys.exit(1)
    data = {"running": True, **client.get("/api/v1/status"), **_panel(state, client)}

    def human(d: dict[str, Any]) -> None:
        click.echo(f"agent: running {d['version']}, up {d['uptime']:.0f}s, data {d['data_dir']}")
        first = ("; no user yet: see the setup code in the agent's log, or run "
                 "`nebula user add NAME`" if d["users"] == 0 else "")
        click.echo(f"panel: {d['panel_url']}{first}")
        click.echo("plugins: " + ", ".join(f"{n} {s}" for s, n in d["plugins"].items()))
        click.echo("checks: " + ", ".join(f"{n} {s}" for s, n in d["checks"].items()))
        click.echo(f"pending approvals: {d['pending_approvals']}")

    output(data, as_json, human)


def _panel(state: State, client: Any) -> dict[str, Any]:
    """Where the panel is (on the port the agent listens on), and how many can sign in to
    it (None: unknown, sign-in is off)."""
    import os
    from urllib.parse import urlsplit

    from nebula.bootstrap import panel_url
    from nebula.cli.client import ApiError

    try:
        users: int | None = len(client.get("/api/v1/users")["users"])
    except ApiError:
        users = None
    # Another host's agent (NEBULA_URL): its address is all this host knows of it.
    # `[agent]` alone: talking to a running agent needs none of the plugins' secrets here.
    url = client.url if os.environ.get("NEBULA_URL") else panel_url(
        state.agent_settings, urlsplit(client.url).port)
    return {"panel_url": url, "users": users}


@click.command()
@click.argument("names", nargs=-1)
@json_option
@pass_state
def check(state: State, names: tuple[str, ...], as_json: bool) -> None:
    """Run checks now (all, or NAMES) and exit 0/1/2/3 for ok/warning/critical/unknown."""
    from nebula.cli.client import ApiError
    from nebula.contributions import Status

    with agent_client(state) as client:
        try:
            checks = client.post("/api/v1/checks/run", {"names": list(names)})["checks"]
        except ApiError as exc:
            if exc.status != 404 or "known" not in exc.body:
                raise
            _unknown_checks(names, exc.body["known"])
    worst = max((Status(c["last_status"]) for c in checks), key=lambda s: s.severity,
                default=Status.OK)
    output({"status": worst.value, "checks": checks}, as_json, lambda _: table(
        [(c["name"], STATUS_MARK[c["last_status"]]
          + (" (maintenance)" if c.get("maintenance") else ""), c["summary"])
         for c in checks],
        ("CHECK", "STATUS", "SUMMARY")))
    sys.exit(worst.exit_code)


def _unknown_checks(names: tuple[str, ...], known: list[str]) -> NoReturn:
    """Names of no check: UNKNOWN (3), as a monitoring system reads it, never the exit code
    of a status the check does not have; with the nearest real name for each."""
    import difflib

    from nebula.contributions import Status

    for name in names:
        if name not in known:
            # Names share their plugin's prefix: a lower cutoff suggests any check of it.
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            click.echo(f"error: no check named {name!r}{hint}", err=True)
    sys.exit(Status.UNKNOWN.exit_code)


@click.group(cls=CoreGroup)
def config() -> None:
    """Validate or show the configuration."""


@config.command()
@json_option
@pass_state
def validate(state: State, as_json: bool) -> None:
    """Check the config file and every plugin section; exit 2 on any problem."""
    from nebula.config import read
    from nebula.plugins import PluginManager, validate_plugins

    loaded, problems = read(state.config_path)
    if loaded is not None:  # a wrong [agent] does not hide what is wrong in the plugins
        problems += validate_plugins(loaded, PluginManager())
    problems.sort(key=lambda p: (p.file, p.line or 0))
    path = str(state.config_path) if state.config_path else None
    data = {"config": path, "valid": not problems, "problems": [
        {"file": p.file, "line": p.line, "path": p.path, "message": p.message, "text": str(p)}
        for p in problems]}
    output(data, as_json, lambda d: click.echo(
        "\n".join(f"error: {p['text']}" for p in d["problems"])
        or f"{path or 'defaults'}: valid"))
    sys.exit(2 if problems else 0)


@config.command()
@json_option
@pass_state
def show(state: State, as_json: bool) -> None:
    """Print the effective config with every secret masked."""
    import json

    from nebula.plugins import PluginManager, masked_config

    data = masked_config(state.config, PluginManager())
    output(data, as_json, lambda d: click.echo(json.dumps(d, indent=2, default=str)))


COMMANDS = (init, run, status, check, config)
