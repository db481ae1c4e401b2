"""Entry point of the zoneedit plugin: its manifest and config schema.

The hook bodies (and the SDKs they need) live in `nebula_zoneedit.hooks`, imported only when a
hook runs, so a disabled plugin costs the agent no memory (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_zoneedit.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="Keeps ZoneEdit dynamic-DNS records on the public IP that several echo "
                "services agree on; checks that DNS serves it.",
)

globals().update(lazy_hooks("nebula_zoneedit.hooks", CONFIG_SCHEMA))
