"""plugin list|info|enable|disable: they work even when a plugin cannot import. The built-in
`installer` plugin adds `plugin install|uninstall|new` to this group."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from nebula.cli.common import (
    CoreGroup,
    State,
    json_option,
    output,
    pass_state,
    running_agent,
    table,
)


def _states(state: State) -> tuple[list[dict[str, Any]], bool]:
    """Plugin states from the running agent, or from discovery alone (nothing started)."""
    from nebula.plugins import DISABLED, LOADED, PluginManager

    if (client := running_agent(state)) is not None:
        return client.get("/api/v1/plugins")["plugins"], True
    manager = PluginManager()
    records = []
    for record in sorted(manager.records.values(), key=lambda r: r.name):
        if not record.loadable:
            manager.settle_unloadable(record, state.config)
        else:
            record.state = LOADED if manager.wanted(record, state.config) else DISABLED
        records.append(record.public())
    return records, False


@click.group(cls=CoreGroup)
def plugin() -> None:
    """List, inspect, enable and disable plugins (and install, uninstall, scaffold them)."""


@plugin.command(name="list")
@json_option
@pass_state
def list_plugins(state: State, as_json: bool) -> None:
    """Every installed plugin and its state (loaded, failed, disabled)."""
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
        raise click.ClickException(unknown_plugin(name, [p["name"] for p in plugins]))

    def human(p: dict[str, Any]) -> None:
        click.echo(f"{p['name']} {p['version'] or ''}: {p['state']}"
                   + (f" ({p['error']})" if p["error"] else ""))
        if p["description"]:
            click.echo(p["description"])
        for kind, names in p["contributions"].items():
            if names:
                click.echo(f"  {kind}: {', '.join(names)}")

    output(found, as_json, human)


def unknown_plugin(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    return f"no plugin named {name!r}" + (f"; did you mean {near[0]!r}?" if near else "")


def _set_enabled(state: State, name: str, enabled: bool, as_json: bool) -> None:
    from nebula.config_edit import set_plugin_enabled
    from nebula.plugins import PluginManager

    known = list(PluginManager().records)
    if name not in known:
        raise click.ClickException(unknown_plugin(name, known))
    path = state.config_path or user_config_path()
    set_plugin_enabled(path, name, enabled)
    result: dict[str, Any] = {"plugin": name, "enabled": enabled, "config": str(path)}
    state.use(path)
    reload_agent(state, result)
    output(result, as_json, lambda d: click.echo(
        f"{'enabled' if enabled else 'disabled'} {name} in {d['config']}"
        + (f"; agent reloaded: {d['reload']}" if "reload" in d else "")
        + (f"; reload refused: {d['reload_error'].get('detail')}" if "reload_error" in d
           else "")))


def reload_agent(state: State, result: dict[str, Any], plugins: Sequence[str] = ()) -> None:
    """Ask a running agent to reload (which discovers newly installed plugins); any of
    `plugins` it still does not know (an agent on another interpreter) go to
    `restart_needed`."""
    from nebula.cli.client import ApiError

    result["agent_running"] = False
    if (client := running_agent(state)) is None:
        return
    result["agent_running"] = True
    try:
        result["reload"] = client.post("/api/v1/reload")["changes"]
    except ApiError as exc:
        result["reload_error"] = exc.body
        return
    known = {p["name"] for p in client.get("/api/v1/plugins")["plugins"]}
    if missing := [name for name in plugins if name not in known]:
        result["restart_needed"] = missing


def user_config_path() -> Path:
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
