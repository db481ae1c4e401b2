"""The `[plugins.zoneedit]` config schema: ZoneEdit's keys beside the ones every
`nebula.helpers.ddns` plugin shares. Unchanged for the owner since before the generic
updater: every key an older config holds means what it meant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.ddns import schema as ddns_schema
from nebula.helpers.schema import config_schema
from nebula_zoneedit.answers import ZONEEDIT_MIN_INTERVAL

CONFIG_SCHEMA = config_schema(required=["username", "token", "hosts"], properties={
    "username": {"type": "string", "minLength": 1, "writeOnly": True,
                 "description": "ZoneEdit account name (use ${ENV} or username_file)."},
    "token": {"type": "string", "minLength": 1,
              "description": "The zone's dynamic authentication token (not the account "
                             "password); use ${ENV} or token_file."},
    "hosts": {"type": "array", "minItems": 1, "description": "Host names to keep "
              "updated, or tables {host, zone} for hosts deeper than one label under "
              "their zone.", "items": ddns_schema.host_item()},
    "update_url": {"type": "string", "pattern": "^https?://",
                   "default": "https://dynamic.zoneedit.com/auth/dynamic.html",
                   "description": "ZoneEdit's dynamic-update endpoint."},
    "min_interval": {"type": "number", "minimum": 0, "default": ZONEEDIT_MIN_INTERVAL,
                     "description": "Seconds between two update requests for one host; "
                                    "ZoneEdit refuses more often than every 600 s."},
    **ddns_schema.common_properties(
        resolvers_default=["1.1.1.1", "8.8.8.8"],
        resolvers_help="DNS servers asked what the records serve; ZoneEdit's own name "
                       "servers give the freshest answer."),
})


def host_zones(config: Mapping[str, Any]) -> dict[str, str | None]:
    """Each configured host with its zone (None: ZoneEdit works it out)."""
    return ddns_schema.host_zones(config["hosts"])


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for settings that could never lead to an update (the plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`)."""
    return ddns_schema.config_problems(config)
