"""The homeassistant plugin's manifest: what the agent reads without importing the plugin's
code. The hooks (and aiohttp) live in `nebula_homeassistant.hooks`, imported when the plugin
first starts, so a disabled plugin costs the agent nothing."""

from nebula.api import Manifest
from nebula_homeassistant.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Home Assistant: reachability and version, config check, unavailable "
                "entities and broken automations, live entity states, service calls (only "
                "harmless ones, such as lights, without approval) and a webhook for HA "
                "automations.",
    hooks="nebula_homeassistant.hooks",
    config_schema=CONFIG_SCHEMA,
)
