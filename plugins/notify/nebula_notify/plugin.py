"""Entry point of the notify plugin: its manifest and config schema.

The hook bodies live in `nebula_notify.hooks`, imported only when a hook runs, so a disabled
plugin costs the agent nothing (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_notify.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.1",
    description="Sends check problems, recoveries, approvals and remediation runs to "
                "Discord, ntfy, a JSON webhook or e-mail, with routing, deduplication, "
                "reminders and quiet hours.",
)

globals().update(lazy_hooks("nebula_notify.hooks", CONFIG_SCHEMA))
