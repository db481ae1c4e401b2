"""The ddns plugin's hooks, imported when the plugin first starts (the manifest in plugin.py
names `hooks` here): those of every `nebula.helpers.ddns` plugin, over the accounts the
config lists (RFC 2136, Cloudflare, DuckDNS)."""

from nebula.helpers.ddns.contributions import DdnsHooks
from nebula.helpers.packages import require
from nebula_ddns.coordinator import updater
from nebula_ddns.schema import config_problems

# Not imported here: dnspython loads with the first lookup or RFC 2136 account
# (nebula.helpers.ddns.published, rfc2136.py); an install without it still fails the start,
# naming the extra.
require("dns")

hooks = DdnsHooks("DDNS provider", updater, config_problems)
