"""The `[plugins.caddy]` config schema and the params of the actions and tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.schema import config_schema, interval, number, params, timeout, url

HOSTNAME = r"^(?=.{1,253}$)(\*\.)?([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*" \
           r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
# host:port, [v6]:port, or a unix socket: what Caddy's `dial` takes (no placeholders).
DIAL = r"^(unix/.+|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5})$"
MAX_CADDYFILE = 1_000_000

CONFIG_SCHEMA = config_schema({
    "admin_url": url("http://127.0.0.1:2019", "Caddy's admin API (its `admin` option).",
                     base_only=True),
    "caddyfile": {"type": "string", "minLength": 1,
                  "description": "The Caddyfile the reload action applies and the validate "
                                 "action checks by default."},
    "timeout": timeout("Seconds for one request to the admin API or one TLS handshake.", 5),
    "interval": interval(30, "Seconds between two looks at Caddy's config and upstreams."),
    "cert_interval": interval(600, "Seconds between two wire checks of the sites' "
                                   "certificates.", minimum=10),
    "cert_warning": number(0.2, "Fraction of a certificate's lifetime left that warns "
                                "(Caddy renews at a third).", 0, 1),
    "cert_critical": number(0.05, "Fraction of a certificate's lifetime left that is "
                                  "critical.", 0, 1),
    "ca_bundle": {"type": "string", "minLength": 1,
                  "description": "PEM file of CAs the certificate check trusts instead of "
                                 "the system's store."},
    "trust_internal_ca": {"type": "boolean", "default": True,
                          "description": "Also trust Caddy's internal CA (its /pki/ca/local "
                                         "root) in the certificate check, for sites with "
                                         "`tls internal`."},
    "tls_address": {"type": "string", "minLength": 1,
                    "description": "Where the certificate check connects (the site's name "
                                   "goes in SNI). Default: the listener's address, else the "
                                   "admin API's host."},
    "probe_upstreams": {"type": "boolean", "default": True,
                        "description": "Also open a TCP connection to every upstream from "
                                       "the agent (Caddy itself only counts failures)."},
})


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    if config["cert_critical"] > config["cert_warning"]:
        return [("cert_critical", "must not be more than cert_warning")]
    return []


HOST = {"type": "string", "pattern": HOSTNAME, "maxLength": 253,
        "description": "The site's host name (app.example.com)."}

ADD_SITE_PARAMS = params({
    "host": HOST,
    "upstreams": {"type": "array", "minItems": 1, "maxItems": 16, "uniqueItems": True,
                  "items": {"type": "string", "pattern": DIAL, "maxLength": 300},
                  "description": "Where Caddy forwards requests: host:port each."},
    "server": {"type": "string", "minLength": 1, "maxLength": 100,
               "description": "The Caddy server (apps.http.servers key) to add the site "
                              "to; default: the only HTTPS server."},
    "tls": {"enum": ["auto", "internal"], "default": "auto",
            "description": "auto: Caddy's automatic HTTPS (a public CA); internal: a "
                           "certificate from Caddy's own CA (LAN names)."},
}, required=["host", "upstreams"])

REMOVE_SITE_PARAMS = params({"host": HOST}, required=["host"])

VALIDATE_PARAMS = params({
    "caddyfile": {"type": "string", "minLength": 1, "maxLength": MAX_CADDYFILE,
                  "description": "Caddyfile text; default: the configured caddyfile."},
})
