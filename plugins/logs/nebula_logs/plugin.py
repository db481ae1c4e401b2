"""Entry point of the logs plugin: its manifest only (read without importing the plugin's
code; the hooks module is imported when the plugin first starts)."""

from nebula.api import Manifest
from nebula_logs.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Every log on the server in one place: files, syslog; full-text search, "
                "live tail and alerts on patterns.",
    hooks="nebula_logs.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
