"""The `[plugins.sunshine]` config schema and the params of the plugin's actions."""

from __future__ import annotations

from nebula.helpers.schema import (
    Schema,
    config_schema,
    integer,
    interval,
    params,
    string,
    timeout,
    url,
)

FINGERPRINT = "^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$"

CONFIG_SCHEMA: Schema = config_schema({
    "url": url("https://127.0.0.1:47990", "Sunshine's web UI, scheme, host and port only.",
               base_only=True),
    "username": {"type": "string", "minLength": 1,
                 "description": "The web UI's admin user name."},
    "password": {"type": "string", "writeOnly": True,
                 "description": "Its password; use password_file or ${ENV}."},
    "fingerprint": {"type": "string", "pattern": FINGERPRINT,
                    "description": "SHA-256 fingerprint of Sunshine's certificate to trust. "
                                   "Without it the first certificate seen is pinned (trust "
                                   "on first use) and a change is refused until "
                                   "`sunshine.trust_certificate` is approved."},
    "timeout": timeout("Seconds for one request to Sunshine."),
    "interval": interval(30, "Seconds between two polls; checks and panels share a poll."),
    "log_lines": integer(2000, "Lines at the end of Sunshine's log that are read.", 50),
    "local": {"type": "boolean", "default": True,
              "description": "Sunshine runs on this host: check GPU, uinput and its ports "
                             "here."},
    "port_base": integer(47989, "Sunshine's `port` setting; the others derive from it.",
                         1024, 65000),
    "drm_path": string("/sys/class/drm", "Where the kernel lists GPUs (DRM cards)."),
    "nvidia_smi": string("nvidia-smi", "The nvidia-smi program, when the GPU is NVIDIA's."),
    "uinput": string("/dev/uinput", "The uinput device Sunshine injects input through."),
}, required=["username", "password"])

APP_FIELDS: Schema = {
    "cmd": {"type": "string", "title": "Command",
            "description": "What Sunshine runs when a client starts the app (empty: the "
                           "desktop)."},
    "output": {"type": "string", "description": "Where the app's output is logged."},
    "working-dir": {"type": "string", "description": "The app's working directory."},
    "image-path": {"type": "string", "description": "A PNG shown in Moonlight."},
    "detached": {"type": "array", "items": {"type": "string"},
                 "description": "Commands started and left running."},
    "prep-cmd": {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["do"],
        "properties": {"do": {"type": "string"}, "undo": {"type": "string"},
                       "elevated": {"type": "boolean"}}},
        "description": "Commands run before (do) and after (undo) the session."},
}
APP_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 200, "title": "App"}

PAIR_PARAMS = params({
    "pin": {"type": "string", "pattern": "^[0-9]{4}$", "writeOnly": True, "title": "PIN",
            "description": "The four digits Moonlight shows while it pairs."},
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "title": "Device name",
             "description": "How the client is listed (\"Living room TV\")."},
}, required=["pin", "name"])
UNPAIR_PARAMS = params({
    "uuid": {"type": "string", "minLength": 1, "title": "Client",
             "description": "The paired client's uuid (clients panel)."},
    "all": {"type": "boolean", "default": False, "description": "Every paired client."},
})
ADD_APP_PARAMS = params({"name": APP_NAME, **APP_FIELDS}, required=["name"])
EDIT_APP_PARAMS = params({
    "name": {**APP_NAME, "description": "The app to change, by its current name."},
    "new_name": {**APP_NAME, "title": "New name"},
    **APP_FIELDS,
}, required=["name"])
REMOVE_APP_PARAMS = params({"name": {**APP_NAME, "description": "The app to remove."}},
                           required=["name"])
