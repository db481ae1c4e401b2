"""Entry point of the docker plugin: its manifest only.

The agent reads the manifest without importing the plugin's code; the hooks module it
names (and the docker SDK with it) is imported when the plugin first starts, so an
installed but disabled plugin costs the agent no memory.
"""

from nebula.api import Manifest
from nebula_docker.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Containers on a Docker-API engine (Docker or Podman): state, health, "
                "restarts, stats, logs, actions, prune, disk use and one-click databases.",
    hooks="nebula_docker.hooks",
    extra="docker",  # its SDK: pyproject.toml's [project.optional-dependencies]
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
