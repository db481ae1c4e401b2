"""Entry point of the advisor plugin: its manifest only."""

from nebula.api import Manifest
from nebula_advisor.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Suggestions computed from history, each with its evidence, an estimated "
                "gain and the action that applies it: disks full soon, databases growing, "
                "containers without limits, dangling images, large logs, unused indexes, "
                "dead rows, connection headroom; a weekly digest.",
    hooks="nebula_advisor.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
