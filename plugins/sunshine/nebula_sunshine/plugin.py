"""Entry point of the sunshine plugin: its manifest only."""

from nebula.api import Manifest
from nebula_sunshine.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="Sunshine game-streaming host: web API reachable with its admin login over "
                "HTTPS with a pinned certificate, streaming or idle, encoder errors and failed "
                "sessions from its log, host readiness (GPU, uinput, ports); pair and unpair "
                "Moonlight clients, manage apps, close the app, restart.",
    hooks="nebula_sunshine.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
