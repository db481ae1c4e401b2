"""plugin list|info|enable|disable: these work even when a plugin cannot import."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import click

from nebula.cli.common import State, json_option, output, pass_state, table


def _states(state: State) -> tuple[list[dict[str, Any]], bool]:
    """Plugin states from the running agent, or from discovery alone (nothing started)."""
    from nebula.cli.client import running_agent
    from nebula.plugins import DISABLED, LOADED, PluginManager

    if (client := running_agent(state.config)) is not None:
        return client.get("/api/v1/plugins")["plugins"], True
    manager = PluginManager()
    records = []
    for record in sorted(manager.records.values(), key=lambda r: r.name):
        if record.obj is None:
            manager.settle_unloadable(record, state.config)
        else:
            record.state = LOADED if manager.wanted(record, state.config) else DISABLED
        records.append(record.public())
    return records, False


@click.group()
def plugin() -> None:
    """List, inspect, enable and disable plugins."""


@plugin.command(name="list")
@json_option
@pass_state
def list_plugins(state: State, as_json: bool) -> None:
    """Every installed plugin and its state (loaded, not_ready, failed, disabled)."""
    plugins, running = _states(state)
    output({"agent_running": running, "plugins": plugins}, as_json, lambda d: table(
        [(p["name"], p["state"], p["version"] or "", p["error"] or p["description"])
         for p in d["plugins"]], ("PLUGIN", "STATE", "VERSION", "DETAIL")))


@plugin.command()
@click.argument("name")
@json_option
@pass_state
def info(state: State, name: str, as_json: bool) -> None:
    """One plugin: state, error, contributions."""
    plugins, _ = _states(state)
    found = next((p for p in plugins if p["name"] == name), None)
    if found is None:
        raise click.ClickException(_unknown(name, [p["name"] for p in plugins]))

    def human(p: dict[str, Any]) -> None:
        click.echo(f"{p['name']} {p['version'] or ''}: {p['state']}"
                   + (f" ({p['error']})" if p["error"] else ""))
        if p["description"]:
            click.echo(p["description"])
        for kind, names in p["contributions"].items():
            if names:
                click.echo(f"  {kind}: {', '.join(names)}")

    output(found, as_json, human)


def _unknown(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    return f"no plugin named {name!r}" + (f"; did you mean {near[0]!r}?" if near else "")


def _set_enabled(state: State, name: str, enabled: bool, as_json: bool) -> None:
    from nebula.cli.client import ApiError, running_agent
    from nebula.config_edit import set_plugin_enabled
    from nebula.plugins import PluginManager

    known = list(PluginManager().records)
    if name not in known:
        raise click.ClickException(_unknown(name, known))
    path = state.config_path or _user_config_path()
    set_plugin_enabled(path, name, enabled)
    result: dict[str, Any] = {"plugin": name, "enabled": enabled, "config": str(path)}
    state.config_path = path
    if (client := running_agent(state.config)) is not None:
        try:
            result["reload"] = client.post("/api/v1/reload")["changes"]
        except ApiError as exc:
            result["reload_error"] = exc.body
    output(result, as_json, lambda d: click.echo(
        f"{'enabled' if enabled else 'disabled'} {name} in {d['config']}"
        + (f"; agent reloaded: {d['reload']}" if "reload" in d else "")
        + (f"; reload refused: {d['reload_error'].get('detail')}" if "reload_error" in d
           else "")))


def _user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("nebula")) / "nebula.toml"


@plugin.command()
@click.argument("name")
@json_option
@pass_state
def enable(state: State, name: str, as_json: bool) -> None:
    """Enable NAME in nebula.toml (comments kept) and reload a running agent."""
    _set_enabled(state, name, True, as_json)


@plugin.command()
@click.argument("name")
@json_option
@pass_state
def disable(state: State, name: str, as_json: bool) -> None:
    """Disable NAME in nebula.toml (comments kept) and reload a running agent."""
    _set_enabled(state, name, False, as_json)


COMMANDS = (plugin,)
