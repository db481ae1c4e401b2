"""The web panel: server-rendered pages, one small script and one stylesheet.

Pages are routes in the same endpoint table as the API (tag `web`), behind the same
authentication; the script keeps them live over the `/api/v1/events` WebSocket."""

TAG = "web"
# Writes that any signed-in role may make (their own logout), not only admins.
SESSION_TAG = "session"
