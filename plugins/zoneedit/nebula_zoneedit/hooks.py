"""The zoneedit plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names `hooks` here): those of every `nebula.helpers.ddns` plugin, with ZoneEdit as
the provider of every host."""

from nebula.helpers.ddns.contributions import DdnsHooks
from nebula_zoneedit.coordinator import updater
from nebula_zoneedit.schema import config_problems

hooks = DdnsHooks("ZoneEdit", updater, config_problems)
