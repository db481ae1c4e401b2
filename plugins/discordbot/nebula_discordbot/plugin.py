"""The discordbot plugin's manifest, read by the agent without importing the plugin's code;
its hooks are `nebula_discordbot.hooks:hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_discordbot.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Watches the Discord ticket bot: its health endpoint, its container "
                "(docker plugin) and its database (postgres plugin): open tickets, ticket "
                "bursts, go-live notification rate.",
    hooks="nebula_discordbot.hooks:hooks",
    config_schema=CONFIG_SCHEMA,
)
