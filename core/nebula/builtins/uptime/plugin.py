"""The uptime plugin's manifest: uptime and incidents from the stored history, and status
pages at /status/<slug> (a path it claims), defined in `[[status_page]]`."""

from __future__ import annotations

from nebula.builtins.uptime.schema import SECTION_SCHEMA, check_pages
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Uptime per check over 24 h to 90 days, incidents, and status pages "
                "([[status_page]], /status/<slug>)",
    hooks="nebula.builtins.uptime.hooks",
    enabled_by_default=True,
    config_section="status_page",
    config_schema=SECTION_SCHEMA,
    config_check=check_pages,
    claimed_paths=("status",),
)
