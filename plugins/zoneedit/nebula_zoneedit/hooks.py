"""The zoneedit plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names `hooks` here): those of every `nebula.helpers.ddns` plugin, with ZoneEdit as
the provider of every host."""

from nebula.helpers.ddns.contributions import DdnsHooks
from nebula.helpers.packages import require
from nebula_zoneedit.coordinator import updater
from nebula_zoneedit.schema import config_problems

# Not imported here: dnspython loads with the first lookup (nebula.helpers.ddns.published);
# an install without it still fails the start, naming the extra.
require("dns")

hooks = DdnsHooks("ZoneEdit", updater, config_problems)
