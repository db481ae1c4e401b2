"""The settings plugin's manifest: the panel's plugin list and settings forms (admins)."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Plugins and their settings in the web panel: enable or disable a plugin "
                "and edit its config, saved to nebula.toml with comments kept (admins)",
    hooks="nebula.builtins.settings.hooks",
    enabled_by_default=True,
)
