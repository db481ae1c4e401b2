"""The web panel: server-rendered pages, one small script and one stylesheet.

Pages are routes in the same endpoint table as the API (tagged `nebula.surfaces.PAGE_TAG`),
behind the same authentication; the script keeps them live over the `/api/v1/events`
WebSocket. `nebula.server` hands them to the HTTP app; nothing in `nebula.http` imports
this package."""
