"""Entry point of the homeassistant plugin: its manifest and config schema.

The hook bodies (and aiohttp) live in `nebula_homeassistant.hooks`, imported only when a hook
runs, so a disabled plugin costs the agent nothing (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_homeassistant.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.1",
    description="Home Assistant: reachability and version, config check, unavailable "
                "entities and broken automations, live entity states, service calls (only "
                "harmless ones, such as lights, without approval) and a webhook for HA "
                "automations.",
)

globals().update(lazy_hooks("nebula_homeassistant.hooks", CONFIG_SCHEMA))
