"""The notify plugin's manifest, read by the agent without importing the plugin's code;
its hooks are in `nebula_notify.hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_notify.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Sends check problems, recoveries, approvals and remediation runs to "
                "Discord, ntfy, a JSON webhook, e-mail or any Apprise URL, with routing, "
                "deduplication, reminders and quiet hours.",
    hooks="nebula_notify.hooks",
    config_schema=CONFIG_SCHEMA,
)
