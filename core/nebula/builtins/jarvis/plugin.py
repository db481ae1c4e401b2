"""Jarvis's manifest: it claims the `[jarvis]` section of nebula.toml."""

from __future__ import annotations

from nebula.builtins.jarvis.schema import JARVIS_SCHEMA
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Jarvis, the AI copilot over the plugins' tools ([jarvis]; needs the "
                "nebula-command[jarvis] extra)",
    hooks="nebula.builtins.jarvis.hooks",
    enabled_by_default=True,
    config_section="jarvis",
    config_schema=JARVIS_SCHEMA,
)
