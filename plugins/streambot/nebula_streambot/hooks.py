"""The streambot plugin's hooks: an `AppWatch` of the stream bot is its runtime (the
defaults and wording are in schema.py); the core closes it when the plugin stops."""

from nebula.helpers.appwatch import AppWatchHooks
from nebula_streambot.schema import SPEC

hooks = AppWatchHooks(SPEC)
