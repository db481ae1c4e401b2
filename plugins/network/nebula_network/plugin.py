"""The `network` plugin's manifest, read by the agent without importing the plugin's code;
its hooks are in `nebula_network.hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_network.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Interfaces, listening sockets and exposures, connections, conntrack, DNS "
                "latency, gateway reachability and the public IP.",
    hooks="nebula_network.hooks",
    extra="dns",  # dnspython, for the DNS latency probes
    config_schema=CONFIG_SCHEMA,
)
