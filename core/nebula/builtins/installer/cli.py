"""plugin install|uninstall|new: the `installer` built-in plugin's commands, added to the
core's `plugin` group (a group of the same name from `nebula_cli_commands` joins it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nebula.cli.common import State, json_option, output, pass_state
from nebula.cli.plugin_cmds import reload_agent, unknown_plugin, user_config_path


@click.command()
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
    from nebula.builtins.installer.pip import InstallError
    from nebula.builtins.installer.pip import install as pip_install
    from nebula.config_edit import set_plugin_enabled

    path = state.config_path or user_config_path()
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
    reload_agent(state, result, done.plugins)

    def human(d: dict[str, Any]) -> None:
        click.echo(f"installed {d['distribution']} {d['version']}: enabled "
                   f"{', '.join(d['plugins'])} in {d['config']}; {_agent_note(d)}")
        for name, keys in d["needs_config"].items():
            click.echo(f"set {', '.join(keys)} in [plugins.{name}] before it can start")

    output(result, as_json, human)


@click.command()
@click.argument("name")
@json_option
@pass_state
def uninstall(state: State, name: str, as_json: bool) -> None:
    """Uninstall the distribution providing plugin NAME, drop its [plugins.NAME] section
    from nebula.toml and reload a running agent."""
    from nebula.builtins.installer.pip import InstallError, distribution_of, plugin_names
    from nebula.builtins.installer.pip import uninstall as pip_uninstall
    from nebula.config_edit import remove_plugin_section

    _ = state.config
    distribution = distribution_of(name)
    if distribution is None:
        _fail(unknown_plugin(name, plugin_names()), as_json)
        return
    try:
        pip_uninstall(distribution, progress=_progress)
    except InstallError as exc:
        _fail(str(exc), as_json, plugin=name)
        return
    path = state.config_path or user_config_path()
    removed = remove_plugin_section(path, name)
    state.use(path)
    result: dict[str, Any] = {"ok": True, "plugin": name, "distribution": distribution,
                              "config": str(path), "config_section_removed": removed}
    reload_agent(state, result)
    output(result, as_json, lambda d: click.echo(
        f"uninstalled {distribution}"
        + (f"; removed [plugins.{name}] from {d['config']}" if removed else "")
        + f"; {_agent_note(d)}"))


@click.command()
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
