"""Entry point of the media plugin: its manifest only."""

from nebula.api import Manifest
from nebula_media.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Media import: uploads streamed to a quarantine folder, checked by content "
                "(not by name), moved into a library folder (local or a NAS mount), then "
                "the Plex plugin scans that folder.",
    hooks="nebula_media.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
    extra="media",
)
