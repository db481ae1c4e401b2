"""The streambot plugin's manifest, read by the agent without importing the plugin's code;
its hooks are `nebula_streambot.hooks:hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_streambot.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Watches the stream bot SnappleBotAI (Twitch, YouTube, Kick): its health "
                "endpoint, its container (docker plugin) and its database (postgres "
                "plugin): connected platforms, message rate, failures.",
    hooks="nebula_streambot.hooks:hooks",
    config_schema=CONFIG_SCHEMA,
)
