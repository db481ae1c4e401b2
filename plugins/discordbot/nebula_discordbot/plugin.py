"""Entry point of the discordbot plugin: its manifest, and the app-watching hooks of
`nebula.api.appwatch_hooks` for the Discord ticket bot (the defaults are in spec.py).

Importing it costs nothing heavy: the PostgreSQL driver loads only when a metric runs.
"""

from nebula.api import Manifest, appwatch_hooks
from nebula_discordbot.spec import SPEC

manifest = Manifest(
    api_version="1.1",
    description="Watches the Discord ticket bot: its health endpoint, its container "
                "(docker plugin) and its database (postgres plugin): open tickets, ticket "
                "bursts, go-live notification rate.",
)

globals().update(appwatch_hooks(SPEC))
