"""The google plugin's manifest, read by the agent without importing the plugin's code;
its hooks (and the aiohttp clients they need) are in `nebula_google.hooks`, imported when
the plugin first starts."""

from nebula.api import Manifest
from nebula_google.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Google Calendar, Gmail and Drive (read-only) through OAuth for an "
                "installed app: upcoming events, unread mail, storage quota, token health.",
    hooks="nebula_google.hooks",
    config_schema=CONFIG_SCHEMA,
)
