"""The fleet plugin's manifest: it claims `[fleet]`; with `hub = true` the agent is a hub."""

from __future__ import annotations

from nebula.builtins.fleet.schema import SECTION_SCHEMA
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Many hosts in one panel: enrollment with mutual TLS, a hub reading its "
                "agents, actions across hosts through each host's own approval gate",
    hooks="nebula.builtins.fleet.hooks",
    enabled_by_default=True,
    config_section="fleet",
    config_schema=SECTION_SCHEMA,
)
