"""The service plugin's manifest: `nebula service install|uninstall` (docs/service.md)."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Run the agent as a systemd service: `nebula service install|uninstall`",
    hooks="nebula.builtins.service.hooks",
    enabled_by_default=True,
)
