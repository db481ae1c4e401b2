"""The security plugin's manifest, read by the agent without importing the plugin's code;
its hooks are in `nebula_security.hooks`, imported when the plugin first starts."""

from nebula.api import Manifest
from nebula_security.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="A security score 0-100 that explains every lost point and its fix: "
                "exposed listeners, TLS, sshd, pending updates, containers, failed logins, "
                "the agent's own data and image vulnerabilities.",
    hooks="nebula_security.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
