"""plugin list|info|enable|disable|install|uninstall|new: list, info, enable and disable work
even when a plugin cannot import."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from nebula.cli.common import State, json_option, output, pass_state, running_agent, table


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


@click.group()
def plugin() -> None:
    """List, inspect, enable, disable, install, uninstall and scaffold plugins."""


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
    from nebula.config_edit import set_plugin_enabled
    from nebula.plugins import PluginManager

    known = list(PluginManager().records)
    if name not in known:
        raise click.ClickException(_unknown(name, known))
    path = state.config_path or _user_config_path()
    set_plugin_enabled(path, name, enabled)
    result: dict[str, Any] = {"plugin": name, "enabled": enabled, "config": str(path)}
    state.use(path)
    _reload(state, result)
    output(result, as_json, lambda d: click.echo(
        f"{'enabled' if enabled else 'disabled'} {name} in {d['config']}"
        + (f"; agent reloaded: {d['reload']}" if "reload" in d else "")
        + (f"; reload refused: {d['reload_error'].get('detail')}" if "reload_error" in d
           else "")))


def _reload(state: State, result: dict[str, Any], plugins: Sequence[str] = ()) -> None:
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


def _agent_note(d: dict[str, Any]) -> str:
    if not d["agent_running"]:
        return "no agent is running; `nebula run` loads it"
    if "reload_error" in d:
        return f"reload refused: {d['reload_error'].get('detail')}"
    if d.get("restart_needed"):
        return ("the running agent did not find " + ", ".join(d["restart_needed"])
                + " (does it run from another environment?): restart it to load them")
    return f"agent reloaded: {d['reload']}"


def _fail(message: str, as_json: bool, **extra: Any) -> None:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message, **extra}, indent=2))
    raise click.ClickException(message)


def _progress(line: str) -> None:
    click.echo(line, err=True)


@plugin.command()
@click.argument("target")
@click.option("--find-links", "-f", multiple=True, metavar="DIR|URL",
              help="Look for wheels here too (pip --find-links); repeatable.")
@click.option("--no-index", is_flag=True, help="Use no package index (offline, with -f).")
@click.option("--index-url", "-i", metavar="URL", help="Another package index (pip -i).")
@click.option("--no-build-isolation", is_flag=True,
              help="Build a source folder with the build tools already installed.")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade it if already installed.")
@json_option
@pass_state
def install(state: State, target: str, find_links: tuple[str, ...], no_index: bool,
            index_url: str | None, no_build_isolation: bool, upgrade: bool,
            as_json: bool) -> None:
    """Install a plugin (NAME, PATH, WHEEL or git+URL) into this agent's environment,
    check that it loads, enable it in nebula.toml and reload a running agent.

    A distribution without a `nebula.plugins` entry point, one written for another plugin
    API, or one that fails to import is uninstalled again and the config is left as it
    was."""
    from nebula.config_edit import set_plugin_enabled
    from nebula.plugin_install import InstallError
    from nebula.plugin_install import install as pip_install

    path = state.config_path or _user_config_path()
    _ = state.config  # an invalid config stops us before anything is installed
    pip_args = [arg for link in find_links for arg in ("--find-links", link)]
    pip_args += ["--no-index"] if no_index else []
    pip_args += ["--index-url", index_url] if index_url else []
    pip_args += ["--no-build-isolation"] if no_build_isolation else []
    pip_args += ["--upgrade"] if upgrade else []
    if Path(target).exists():
        # pip reads a bare folder name (`nebula-foo`) as a package name, not a path.
        target = str(Path(target).resolve())
    try:
        done = pip_install(target, pip_args, progress=_progress)
    except InstallError as exc:
        _fail(str(exc), as_json, target=target)
        return
    for name in done.plugins:
        set_plugin_enabled(path, name, True)
    state.use(path)
    result: dict[str, Any] = {
        "ok": True, "distribution": done.distribution, "version": done.version,
        "plugins": done.plugins, "pip_installed": done.pip_installed, "config": str(path),
        "needs_config": done.needs_config}
    _reload(state, result, done.plugins)

    def human(d: dict[str, Any]) -> None:
        click.echo(f"installed {d['distribution']} {d['version']}: enabled "
                   f"{', '.join(d['plugins'])} in {d['config']}; {_agent_note(d)}")
        for name, keys in d["needs_config"].items():
            click.echo(f"set {', '.join(keys)} in [plugins.{name}] before it can start")

    output(result, as_json, human)


@plugin.command()
@click.argument("name")
@json_option
@pass_state
def uninstall(state: State, name: str, as_json: bool) -> None:
    """Uninstall the distribution providing plugin NAME, drop its [plugins.NAME] section
    from nebula.toml and reload a running agent."""
    from nebula.config_edit import remove_plugin_section
    from nebula.plugin_install import InstallError, distribution_of, plugin_names
    from nebula.plugin_install import uninstall as pip_uninstall

    _ = state.config
    distribution = distribution_of(name)
    if distribution is None:
        _fail(_unknown(name, plugin_names()), as_json)
        return
    try:
        pip_uninstall(distribution, progress=_progress)
    except InstallError as exc:
        _fail(str(exc), as_json, plugin=name)
        return
    path = state.config_path or _user_config_path()
    removed = remove_plugin_section(path, name)
    state.use(path)
    result: dict[str, Any] = {"ok": True, "plugin": name, "distribution": distribution,
                              "config": str(path), "config_section_removed": removed}
    _reload(state, result)
    output(result, as_json, lambda d: click.echo(
        f"uninstalled {distribution}"
        + (f"; removed [plugins.{name}] from {d['config']}" if removed else "")
        + f"; {_agent_note(d)}"))


@plugin.command()
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Create the package in here.")
@json_option
def new(name: str, parent: Path, as_json: bool) -> None:
    """Scaffold a plugin package NAME (a check, an action, a panel, a Jarvis tool and a
    test), ready for `nebula plugin install` and `pytest`."""
    from nebula.scaffold import names, render

    try:
        root = render(name, parent)
    except (ValueError, FileExistsError) as exc:
        _fail(str(exc), as_json)
        return
    values = names(name)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    output({"ok": True, "plugin": values["name"], "distribution": values["distribution"],
            "path": str(root), "files": files}, as_json, lambda d: click.echo(
        f"created {d['path']} (plugin {d['plugin']!r})\nnext:\n"
        f"  nebula plugin install {d['path']}\n"
        f"  cd {d['path']} && pytest"))


COMMANDS = (plugin,)
