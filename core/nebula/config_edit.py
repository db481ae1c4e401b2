"""Editing nebula.toml in place with tomlkit, so the owner's comments and layout survive."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import tomlkit


def set_plugin_enabled(path: Path, plugin: str, enabled: bool) -> None:
    # A linked file (dotfiles repo, /etc/nebula -> ...) is edited where it lives.
    path = path.resolve()
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    plugins = doc.get("plugins")
    if plugins is None:
        plugins = tomlkit.table(is_super_table=True)
        doc["plugins"] = plugins
    section = plugins.get(plugin)
    if section is None:
        section = tomlkit.table()
        plugins[plugin] = section
    section["enabled"] = enabled
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file may hold secrets: the replacement gets the original's mode, never the
    # umask's (a new file starts owner-only), and is never readable by others meanwhile.
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(doc))
    os.chmod(tmp, mode)
    tmp.replace(path)
