"""The caddy plugin's manifest: what the agent reads without importing the plugin's code.
The hooks live in `nebula_caddy.hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_caddy.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Watches Caddy through its admin API (config, upstreams, the sites' "
                "certificates on the wire) and adds or removes reverse-proxy sites, reloads "
                "or validates the Caddyfile, with refusal of concurrent edits and a "
                "one-step rollback.",
    hooks="nebula_caddy.hooks",
    config_schema=CONFIG_SCHEMA,
)
