"""The `system` plugin's manifest, read by the agent without importing the plugin's code;
its hooks are in `nebula_system.hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_system.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Host health from psutil: CPU, memory, swap, load, disks, network, "
                "top processes and temperatures.",
    hooks="nebula_system.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=True,
)
