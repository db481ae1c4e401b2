"""Entry point of the google plugin: its manifest and config schema.

The hook bodies (and aiohttp clients they need) live in `nebula_google.hooks`, imported only
when a hook runs, so a disabled plugin costs the agent nothing (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_google.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.1",
    description="Google Calendar, Gmail and Drive (read-only) through OAuth for an "
                "installed app: upcoming events, unread mail, storage quota, token health.",
)

globals().update(lazy_hooks("nebula_google.hooks", CONFIG_SCHEMA))
