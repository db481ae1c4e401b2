"""The n8n plugin's manifest, read by the agent without importing the plugin's code (the
entry point names this module); its hooks are in `nebula_n8n.hooks`, imported when the
plugin first starts."""

from nebula.api import Manifest
from nebula_n8n.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="n8n: health, workflows, activate and deactivate.",
    hooks="nebula_n8n.hooks",
    config_schema=CONFIG_SCHEMA,
)
