"""Editing nebula.toml in place with tomlkit, so the owner's comments and layout survive."""

from __future__ import annotations

from pathlib import Path

import tomlkit


def set_plugin_enabled(path: Path, plugin: str, enabled: bool) -> None:
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
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.replace(path)
