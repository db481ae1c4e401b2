"""The backup plugin's manifest: `nebula backup` and `nebula restore` (docs/backup.md)."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Back up and restore Nebula's own state (store, secret key, config): "
                "`nebula backup|restore`",
    hooks="nebula.builtins.backup.hooks",
    enabled_by_default=True,
)
