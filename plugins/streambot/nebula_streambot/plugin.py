"""Entry point of the streambot plugin: its manifest, and the app-watching hooks of
`nebula.api.appwatch_hooks` for the stream bot SnappleBotAI (the defaults are in spec.py).

Importing it costs nothing heavy: the PostgreSQL driver loads only when a metric runs.
"""

from nebula.api import Manifest, appwatch_hooks
from nebula_streambot.spec import SPEC

manifest = Manifest(
    api_version="1.1",
    description="Watches the stream bot SnappleBotAI (Twitch, YouTube, Kick): its health "
                "endpoint, its container (docker plugin) and its database (postgres "
                "plugin): connected platforms, message rate, failures.",
)

globals().update(appwatch_hooks(SPEC))
