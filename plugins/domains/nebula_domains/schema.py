"""The `[plugins.domains]` config schema and the params of the tools: plain data, read
with the manifest (each host's settings, checked and with defaults applied, are in
hosts.py)."""

from __future__ import annotations

from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.schema import config_schema, interval, params, timeout

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$"
RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA")
PUBLIC_IP = "public_ip"

_HOST_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "pattern": HOSTNAME, "description": "The host name."},
    "records": {"type": "array", "items": {"enum": list(RECORD_TYPES)}, "uniqueItems": True,
                "minItems": 1,
                "description": "Record types to resolve (default: the types in expect, "
                               "else A)."},
    "expect": {"type": "object", "additionalProperties": False,
               "description": "Expected answers per type, each served set compared with "
                              "the expected one: addresses or \"public_ip\" for A/AAAA, "
                              "the target name for CNAME, records as in a zone file for "
                              "MX (\"10 mail.example.com\"), SRV (\"0 5 5060 "
                              "sip.example.com\") and CAA (\"0 issue letsencrypt.org\"); "
                              "for TXT, texts that must be among those served.",
               "properties": {
                   "CNAME": {"type": "string", "pattern": HOSTNAME},
                   **{kind: {"type": "array", "minItems": 1,
                             "items": {"type": "string", "minLength": 1}}
                      for kind in RECORD_TYPES if kind != "CNAME"}}},
    "https": {"type": "boolean", "description": "Fetch https://<name><path> (default true)."},
    "path": {"type": "string", "pattern": "^/", "description": "Path fetched (default /)."},
    "keyword": {"type": "string", "minLength": 1,
                "description": "Text the final page must contain."},
    "expect_status": {"type": "array", "items": {"type": "integer"},
                      "description": "Acceptable final statuses (default: any below 400)."},
    "http_redirect": {"type": "boolean",
                      "description": "http:// must redirect to https:// (default true)."},
    "tls": {"type": "boolean", "description": "Judge the certificate (default true)."},
}

CONFIG_SCHEMA = config_schema(required=["hosts"], properties={
    "hosts": {"type": "array", "minItems": 1,
              "description": "Hosts to watch: names, or tables with per-host settings.",
              "items": {"oneOf": [
                  {"type": "string", "pattern": HOSTNAME},
                  {"type": "object", "additionalProperties": False, "required": ["name"],
                   "properties": _HOST_PROPERTIES}]}},
    "interval": interval(300, "Seconds between two checks of every host."),
    **nameservers.properties(["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                             "Resolvers; each is asked, and they must agree (propagation)."),
    "http_timeout": timeout("Seconds for one HTTP(S) request, connect included."),
    "concurrency": {"type": "integer", "minimum": 1, "default": 20,
                    "description": "Hosts checked at once."},
    "https_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 443},
    "http_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 80},
    "ca_bundle": {"type": "string", "minLength": 1,
                "description": "PEM bundle the certificate chain must validate against "
                               "(default: the system store)."},
    "tls_warning_days": {"type": "number", "minimum": 0, "default": 21,
                         "description": "Days before expiry that warn."},
    "tls_critical_days": {"type": "number", "minimum": 0, "default": 7,
                          "description": "Days before expiry that are critical."},
    "slow_ms": {"type": "number", "exclusiveMinimum": 0, "default": 3000,
                "description": "HTTPS latency (all redirects included) that warns."},
    "max_redirects": {"type": "integer", "minimum": 0, "default": 10},
    "public_ip_action": {"type": "string",
                         "pattern": r"^(auto|[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)$",
                         "default": "auto",
                         "description": "Where our public IP comes from, for expectations "
                                        "written \"public_ip\": the event of that name, "
                                        "which the plugin publishes when the address "
                                        "changes, and the action of that name, asked only "
                                        "while no event was seen. \"auto\": ddns.public_ip "
                                        "or zoneedit.public_ip, whichever plugin runs."},
})

HOST_PARAMS = params({"host": {"type": "string", "description": "A configured host name."}},
                     required=["host"])
WHY_PARAMS = params({"host": {"type": "string", "description": "A configured host name; "
                              "without it, every host that is not ok."}})
