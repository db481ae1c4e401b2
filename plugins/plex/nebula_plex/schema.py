"""The `[plugins.plex]` config schema and the params of the plugin's actions and tools."""

from __future__ import annotations

from nebula.helpers.schema import (
    Schema,
    config_schema,
    integer,
    interval,
    params,
    timeout,
    tls_options,
    url,
)

CONFIG_SCHEMA: Schema = config_schema({
    "url": url("http://127.0.0.1:32400", "The server's base URL, scheme, host and port only "
               "(https://<ip-dashed>.<hash>.plex.direct:32400 for TLS).", base_only=True),
    "token": {"type": "string", "minLength": 1,
              "description": "The server owner's X-Plex-Token; use ${ENV} or token_file, "
                             "never a literal."},
    **tls_options("the server"),
    "timeout": timeout("Seconds for one request to the server."),
    "interval": interval(60, "Seconds between two polls of the server; checks, panels and "
                             "tools share a poll for half of it."),
    "max_transcodes": integer(2, "Transcoding sessions above which the transcodes check "
                                 "warns."),
    "recently_added": integer(20, "Recently added items fetched per poll.", 1, 100),
    "history_size": integer(120, "Polls kept for the streams timeseries panel.", 2),
}, required=["token"])

LIBRARY_PARAM: Schema = {"type": "string", "minLength": 1, "title": "Library",
                         "description": "The library's name (case-insensitive) or section "
                                        "key; leave empty for every library."}
SCAN_PARAMS = params({
    "library": LIBRARY_PARAM,
    "path": {"type": "string", "minLength": 1, "title": "Folder",
             "description": "Only this folder inside the library (as the server sees it), "
                            "for example the one new files just landed in."},
})
FIND_PARAMS = params({
    "library": {**LIBRARY_PARAM, "description": "The library's name (case-insensitive) or "
                                                "section key."},
    "path": {"type": "string", "pattern": "^/", "title": "File",
             "description": "The file's full path as the server sees it."},
}, required=["library", "path"])
EMPTY_TRASH_PARAMS = params({"library": LIBRARY_PARAM})
OPTIMIZE_PARAMS = params({
    "force": {"type": "boolean", "default": False, "title": "Even while playing",
              "description": "Optimise even while someone is watching (their stream may "
                             "stall while the database is busy)."},
})
RECENT_PARAMS = params({
    "limit": integer(10, "How many of the newest items.", 1, 100),
})
