"""The discordbot plugin's hooks: an `AppWatch` of the Discord ticket bot is its runtime (the
defaults and wording are in schema.py); the core closes it when the plugin stops."""

from nebula.helpers.appwatch import AppWatchHooks
from nebula_discordbot.schema import SPEC

hooks = AppWatchHooks(SPEC)
