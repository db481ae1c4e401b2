"""Entry point of the docker plugin: its manifest and config schema.

The hook bodies (and the SDKs they need) live in `nebula_docker.hooks`, imported only when a
hook runs, so a disabled plugin costs the agent no memory (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_docker.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="Containers on a Docker-API engine (Docker or Podman): state, health, "
                "restarts, stats, logs, actions, prune, disk use and one-click databases.",
)

globals().update(lazy_hooks("nebula_docker.hooks", CONFIG_SCHEMA))
