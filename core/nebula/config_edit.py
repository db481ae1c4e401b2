"""Editing nebula.toml in place with tomlkit, so the owner's comments and layout survive."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit


def set_plugin_enabled(path: Path, plugin: str, enabled: bool) -> None:
    _edit(path, lambda doc: plugin_table(doc, plugin).__setitem__("enabled", enabled))


def remove_plugin_section(path: Path, plugin: str) -> bool:
    """Drop `[plugins.<plugin>]` (an uninstalled plugin's section would make the config
    invalid); returns whether there was one. A file without it is not rewritten."""
    path = path.resolve()
    if not path.exists():
        return False
    plugins = tomlkit.parse(path.read_text(encoding="utf-8")).get("plugins")
    if plugins is None or plugin not in plugins:
        return False

    def edit(doc: tomlkit.TOMLDocument) -> None:
        del doc["plugins"][plugin]
        if not doc["plugins"]:
            del doc["plugins"]

    # Without its section the file reads as before the plugin was enabled, trailing
    # blank line included.
    _edit(path, edit, tidy_end=True)
    return True


def _edit(path: Path, change: Callable[[tomlkit.TOMLDocument], None],
          tidy_end: bool = False) -> None:
    # A linked file (dotfiles repo, /etc/nebula -> ...) is edited where it lives.
    path = path.resolve()
    text = edited(path, change)
    replace_text(path, text.rstrip("\n") + "\n" if tidy_end and text.strip() else text)


def edited(path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> str:
    """The file's text with `change` applied, comments and layout kept; nothing written."""
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    change(doc)
    return tomlkit.dumps(doc)


def replace_text(path: Path, text: str) -> None:
    """Write `text` over `path` at once (a reader sees the old file or the new one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The file may hold secrets: the replacement gets the original's mode, never the
    # umask's (a new file starts owner-only), and is never readable by others meanwhile.
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    tmp.replace(path)


def plugin_table(doc: tomlkit.TOMLDocument, plugin: str) -> Any:
    """`[plugins.<plugin>]` of the document, made if missing."""
    plugins = doc.get("plugins")
    if plugins is None:
        plugins = tomlkit.table(is_super_table=True)
        doc["plugins"] = plugins
    section = plugins.get(plugin)
    if section is None:
        section = tomlkit.table()
        plugins[plugin] = section
    return section


def set_agent_keys(path: Path, values: dict[str, str | int]) -> None:
    """Set keys of `[agent]` (creating the table), keeping everything else as written."""
    def edit(doc: tomlkit.TOMLDocument) -> None:
        agent = doc.get("agent")
        if agent is None:
            agent = tomlkit.table()
            doc["agent"] = agent
        for key, value in values.items():
            agent[key] = value

    _edit(path, edit)
