"""The domains plugin's manifest: what the agent reads without importing the plugin's code.
The hooks (and the SDKs they need) live in `nebula_domains.hooks`, imported when the plugin
first starts, so a disabled plugin costs the agent nothing."""

from nebula.api import Manifest
from nebula_domains.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Domain health: DNS through several resolvers, HTTPS status, latency and "
                "redirects, TLS certificate expiry and validity.",
    hooks="nebula_domains.hooks",
    extra="dns",  # its SDK: pyproject.toml's [project.optional-dependencies]
    config_schema=CONFIG_SCHEMA,
)
