"""Entry point of the plex plugin: its manifest only.

The agent reads the manifest without importing the plugin's code; the hooks module it
names (and aiohttp's client code with it) is imported when the plugin first starts, so an
installed but disabled plugin costs the agent nothing.
"""

from nebula.api import Manifest
from nebula_plex.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Plex Media Server: reachability, token, version and updates, now playing "
                "(direct play or transcode), libraries, recently added; library scans, "
                "empty trash, optimise database.",
    hooks="nebula_plex.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
