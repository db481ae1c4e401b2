"""The ddns plugin's manifest: what the agent reads without importing the plugin's code.
The hooks (and dnspython) live in `nebula_ddns.hooks`, imported when the plugin first
starts."""

from nebula.api import Manifest
from nebula_ddns.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Keeps dynamic-DNS records (RFC 2136 servers such as BIND, Cloudflare, "
                "DuckDNS) on the public IP that several echo services agree on; checks that "
                "DNS serves it.",
    hooks="nebula_ddns.hooks:hooks",
    extra="dns",  # dnspython: pyproject.toml's [project.optional-dependencies]
    config_schema=CONFIG_SCHEMA,
)
