"""The `[plugins.media]` config schema."""

from __future__ import annotations

from nebula.helpers.schema import Schema, config_schema, integer, params

LIBRARY_SCHEMA: Schema = {
    "type": "object", "additionalProperties": False, "required": ["name", "path"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 _.-]*$",
                 "description": "What uploads name (`library=`)."},
        "path": {"type": "string", "pattern": "^/", "description": "The library's folder on "
                 "this host: a local disk or the mount point of a NAS share."},
        "kinds": {"type": "array", "items": {"enum": ["video", "audio", "image",
                                                      "subtitle"]},
                  "default": ["video", "subtitle"],
                  "description": "What the library takes, decided by each file's content."},
        "plex_library": {"type": "string", "minLength": 1, "description": "The Plex "
                         "library to scan after an upload (plex plugin); none: no scan."},
        "plex_path": {"type": "string", "pattern": "^/", "description": "The folder as "
                      "Plex sees it, when not `path` (Plex in a container, say)."},
    },
}

CONFIG_SCHEMA: Schema = config_schema({
    "quarantine_dir": {"type": "string", "pattern": "^/", "description": "Where uploads are "
                       "written (0600, in a 0700 folder) until checked; on the library's "
                       "file system the move is a rename."},
    "max_bytes": integer(64 << 30, "Largest upload taken (bytes).", 1),
    "libraries": {"type": "array", "items": LIBRARY_SCHEMA, "minItems": 1,
                  "description": "Where uploads may go."},
    "import_roots": {"type": "array", "default": [], "items": {
        "type": "object", "additionalProperties": False, "required": ["name", "path"],
        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 _.-]*$"},
                       "path": {"type": "string", "pattern": "^/"}}},
        "description": "Folders files may be imported from (a NAS share's mount point, "
                       "a downloads folder): `media.browse` lists them, `media.import_file` "
                       "copies one into a library as an upload is."},
    "plex_wait": {"type": "number", "minimum": 0, "maximum": 600, "default": 30,
                  "description": "Seconds an upload's answer waits for Plex to list the new "
                                 "file after the scan started (0: do not wait); past them "
                                 "it says \"scan started, not yet in Plex\"."},
    "file_mode": {"type": "string", "pattern": "^0?[0-7]{3}$", "default": "0644",
                  "description": "Mode of a file once in a library (Plex must read it)."},
}, required=["quarantine_dir", "libraries"])

ROOT_PARAM: Schema = {"type": "string", "minLength": 1, "title": "From",
                      "description": "One of import_roots, by name."}
PATH_PARAM: Schema = {"type": "string", "default": "", "maxLength": 4000, "title": "Path",
                      "description": "A path inside that folder (\"Downloads/Sintel.mkv\")."}
BROWSE_PARAMS = params({"root": ROOT_PARAM, "path": PATH_PARAM}, required=["root"])
IMPORT_PARAMS = params({
    "root": ROOT_PARAM, "path": {**PATH_PARAM, "minLength": 1},
    "library": {"type": "string", "minLength": 1, "title": "Library"},
    "folder": {"type": "string", "default": "", "title": "Folder in the library"},
}, required=["root", "path", "library"])
