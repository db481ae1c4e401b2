"""The plugins built into the core, and what their manifests may claim that others may not.

Built-in plugins (web panel sign-in, Jarvis, remediation) ship inside the `nebula` package,
shaped like any 1.2 plugin (`plugin.py` holding the manifest, `schema.py`, `hooks.py`), and
are always registered, like Datasette's default plugins: found by this list rather than by
entry points, then loaded, configured, started, failed and reported exactly as any other
plugin.

Their privilege: a built-in's manifest may claim a top-level section of nebula.toml
(`[auth]`, `[jarvis]`, `[[remediation]]`), so users' files from before they were plugins stay
valid, and top-level paths (`/login`, `/api/v1/users`), so their addresses stay too.
The config reads a claimed section against the plugin's own schema; nothing here imports a
plugin's code, only its manifest module (plain data).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nebula.contributions import Manifest

# name -> the module holding its `manifest`; the order is the order they are registered.
BUILTIN_PLUGINS: Mapping[str, str] = {
    "auth": "nebula.builtins.auth.plugin",
    "fleet": "nebula.builtins.fleet.plugin",
    "jarvis": "nebula.builtins.jarvis.plugin",
    "mcp": "nebula.builtins.mcp.plugin",
    "remediation": "nebula.builtins.remediation.plugin",
    "maintenance": "nebula.builtins.maintenance.plugin",
    "service": "nebula.builtins.service.plugin",
    "backup": "nebula.builtins.backup.plugin",
    "installer": "nebula.builtins.installer.plugin",
    "openapi": "nebula.builtins.openapi.plugin",
    "prometheus": "nebula.builtins.prometheus.plugin",
    "settings": "nebula.builtins.settings.plugin",
    "uptime": "nebula.builtins.uptime.plugin",
}

# What a claimed section's extra rules report: (key path inside the section, message).
SectionProblems = Iterable[tuple[str, str]]


@dataclass(frozen=True)
class BuiltinManifest(Manifest):
    """A built-in plugin's manifest.

    `config_section` claims that top-level key of nebula.toml as the plugin's config
    (instead of `[plugins.<name>]`, which then takes only `enabled`); `moved_agent_keys`
    and `claimed_paths` keep older config files and addresses working. `config_schema`
    describes the claimed value: a table, which becomes the plugin's `ctx.config`, or an
    array of tables, handed over as `{<config_section>: [...]}`. `config_check` adds the
    rules a JSON Schema cannot state (unique names across the items), as (path, message)
    pairs; it is plain code in the manifest's module, run before the schema."""

    config_section: str | None = None
    config_check: Callable[[Any], SectionProblems] | None = None
    # Keys of [agent] that older versions read and this built-in's section now holds
    # (auth: session_ttl, login_*): still accepted there, read as if in the section.
    moved_agent_keys: tuple[str, ...] = ()
    # First path segments the built-in serves its endpoints and pages at, right under
    # /api/v1/ and / instead of under its name (auth: /api/v1/users, /login, /security),
    # so the addresses from before it was a plugin stay; no other plugin may use them.
    claimed_paths: tuple[str, ...] = ()


def named_tables(value: Any, section: str, noun: str, key: str = "name") -> SectionProblems:
    """The rules every `[[section]]` a built-in claims shares: an array of tables, each
    `key` (its name; a status page's slug) used once (`noun` says what an item is:
    "policy", "window"). A pure function for `config_check`; the first problem that is
    not about names ends the check."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        yield "", f"must be an array of tables, one [[{section}]] per {noun}"
        return
    first_use: dict[str, int] = {}
    for index, item in enumerate(value):
        name = item.get(key)
        if not isinstance(name, str):
            continue
        if name in first_use:
            yield (f"{index}.{key}",
                   f"{noun} {key} {name!r} is already used by {section}.{first_use[name]}")
        first_use.setdefault(name, index)


def load_manifest(module: str) -> Any:
    """The object a built-in's manifest module gives the plugin manager (the module)."""
    return importlib.import_module(module)


def section_claims() -> dict[str, BuiltinManifest]:
    """Top-level config sections claimed by built-in plugins, by section name. A built-in
    whose manifest cannot be read claims nothing here; the plugin manager reports it."""
    claims: dict[str, BuiltinManifest] = {}
    for module in BUILTIN_PLUGINS.values():
        try:
            manifest = getattr(load_manifest(module), "manifest", None)
        except Exception:  # reported, with the reason, as the plugin's failed state
            continue
        if isinstance(manifest, BuiltinManifest) and manifest.config_section:
            claims[manifest.config_section] = manifest
    return claims


def claimed_config(manifest: BuiltinManifest, value: Any) -> dict[str, Any]:
    """A claimed section's value as the plugin's `ctx.config`."""
    if isinstance(value, Mapping):
        return dict(value)
    assert manifest.config_section is not None
    return {manifest.config_section: value}
