"""The zoneedit plugin's manifest: what the agent reads without importing the plugin's code.
The hooks (and the SDKs they need) live in `nebula_zoneedit.hooks`, imported when the plugin
first starts, so a disabled plugin costs the agent nothing."""

from nebula.api import Manifest
from nebula_zoneedit.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Keeps ZoneEdit dynamic-DNS records on the public IP that several echo "
                "services agree on; checks that DNS serves it.",
    hooks="nebula_zoneedit.hooks:hooks",
    extra="dns",  # its SDK: pyproject.toml's [project.optional-dependencies]
    config_schema=CONFIG_SCHEMA,
)
