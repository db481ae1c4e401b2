"""The apps plugin's manifest: what the agent reads without importing the plugin's code.
The hooks live in `nebula_apps.hooks`; the docker SDK they need loads with the first engine
that answers (engine.py), so an enabled plugin without an engine does not carry it."""

from nebula.api import Manifest
from nebula_apps.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="One-click apps from TOML templates (shipped and your own): one approved "
                "deploy creates secrets, volumes and the container and waits until it "
                "answers, undoing every step if one fails; remove keeps the data unless "
                "asked.",
    hooks="nebula_apps.hooks",
    extra="apps",
    config_schema=CONFIG_SCHEMA,
)
