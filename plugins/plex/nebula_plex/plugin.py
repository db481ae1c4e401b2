"""Entry point of the plex plugin: its manifest and config schema.

The hook bodies (and aiohttp, which they need) live in `nebula_plex.hooks`, imported only
when a hook runs, so a disabled plugin costs the agent nothing (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_plex.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.1",
    description="Plex Media Server: reachability, token, version and updates, now playing "
                "(direct play or transcode), libraries, recently added; library scans, "
                "empty trash, optimise database.",
)

globals().update(lazy_hooks("nebula_plex.hooks", CONFIG_SCHEMA))
