"""The maintenance plugin's manifest: it claims `[[maintenance]]`, one table per window."""

from __future__ import annotations

from nebula.builtins.maintenance.schema import SECTION_SCHEMA, check_windows
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Maintenance windows: checks still run and are kept, marked; notifications "
                "and remediation wait until the window ends ([[maintenance]])",
    hooks="nebula.builtins.maintenance.hooks",
    enabled_by_default=True,
    config_section="maintenance",
    config_schema=SECTION_SCHEMA,
    config_check=check_windows,
)
