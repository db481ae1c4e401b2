"""Entry point of the domains plugin: its manifest and config schema.

The hook bodies (and the SDKs they need) live in `nebula_domains.hooks`, imported only when a
hook runs, so a disabled plugin costs the agent no memory (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_domains.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="Domain health: DNS through several resolvers, HTTPS status, latency and "
                "redirects, TLS certificate expiry and validity.",
)

globals().update(lazy_hooks("nebula_domains.hooks", CONFIG_SCHEMA))
