"""The installer plugin's manifest: `nebula plugin install|uninstall|new`."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Install, uninstall and scaffold plugins: `nebula plugin "
                "install|uninstall|new`",
    hooks="nebula.builtins.installer.hooks",
    enabled_by_default=True,
)
