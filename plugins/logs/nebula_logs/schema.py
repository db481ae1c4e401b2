"""The logs plugin's config schema and the parameter schemas of its tools (plain data:
plugin.py imports this for the manifest)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.schema import config_schema, integer, number, params, string

NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,47}$",
        "description": "the source's name, as lines and filters carry it"}

FILE_SOURCE: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name", "path"],
    "properties": {
        "name": NAME,
        "path": {"type": "string", "minLength": 1,
                 "description": "a file or a glob (/var/log/app/*.log): point it at live "
                                "files, not at rotated ones"},
        "from_start": {"type": "boolean", "default": True,
                       "description": "a file never seen before is read from its start "
                                      "(else only what is written from now on)"},
    },
}

SYSLOG: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": False},
        "name": {**NAME, "default": "syslog"},
        "host": string("127.0.0.1", "address to listen on (loopback by default)"),
        "udp_port": {"type": ["integer", "null"], "minimum": 0, "maximum": 65535,
                     "default": 5514, "description": "null: no UDP; 0: any free port"},
        "tcp_port": {"type": ["integer", "null"], "minimum": 0, "maximum": 65535,
                     "default": 5514, "description": "null: no TCP; 0: any free port"},
    },
    "default": {},
}

CONTAINERS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": False},
        "name": {**NAME, "default": "containers"},
        "base_url": string("", "engine address (unix:///run/podman/podman.sock, "
                               "tcp://host:2375); empty: the docker plugin's, else "
                               "DOCKER_HOST, else the default socket"),
    },
    "default": {},
}

JOURNAL: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": False},
        "name": {**NAME, "default": "journal"},
        "units": {"type": "array", "items": {"type": "string"}, "default": [],
                  "description": "only these units (journalctl --unit); all if empty"},
        "file": string("", "a journal file to read instead of the system journal"),
        "directory": string("", "a journal directory to read instead"),
        "from_start": {"type": "boolean", "default": False,
                       "description": "the first start reads the whole journal (else only "
                                      "what comes from now on)"},
    },
    "default": {},
}

RULE: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name", "pattern"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,47}$",
                 "description": "the check is logs.<name>"},
        "pattern": {"type": "string", "minLength": 1,
                    "description": "a search query (FTS5 syntax: words, \"a phrase\", "
                                   "OR, NOT, prefix*); no regular expressions"},
        "source": {"type": "array", "items": {"type": "string"}, "default": [],
                   "description": "sources (globs allowed) the rule looks at; all if empty"},
        "count": integer(1, "matching lines within the window that make it fire",
                         minimum=1),
        "window": number(300, "seconds looked back", minimum=1, maximum=30 * 86400),
        "status": {"enum": ["warning", "critical"], "default": "warning"},
        "interval": number(30, "seconds between two evaluations", minimum=1),
    },
}

CONFIG_SCHEMA: dict[str, Any] = config_schema({
    "files": {"type": "array", "items": FILE_SOURCE, "default": []},
    "syslog": SYSLOG,
    "containers": CONTAINERS,
    "journal": JOURNAL,
    "rules": {"type": "array", "items": RULE, "default": []},
    "plugin_events": {"type": "boolean", "default": True,
                      "description": "store `<plugin>.log` events: how other plugins "
                                     "contribute lines (ctx.emit(\"log\", {\"message\": "
                                     "…, \"level\": …, \"unit\": …}))"},
    "max_age_days": number(14, "lines older than this are deleted", minimum=0.001),
    "max_size_mb": number(1024, "the database is kept under this size (oldest lines go "
                                "first)", minimum=1),
    "max_line_bytes": integer(65536, "longer lines are stored cut", minimum=256,
                              maximum=4 << 20),
    "queue_lines": integer(20000, "lines waiting for the writer at most; past it file "
                                   "sources wait and datagrams are refused (both counted)",
                           minimum=100),
    "batch_lines": integer(5000, "lines committed in one transaction at most", minimum=1),
    "poll_interval": number(0.1, "seconds between two looks at idle files while a live "
                                 "tail is open (its latency)", minimum=0.01, maximum=10),
    "idle_poll_interval": number(1, "seconds between two looks at idle files while no live "
                                    "tail is open (lines are stored that much later at "
                                    "most; never shorter than poll_interval)",
                                 minimum=0.01, maximum=60),
    "query_seconds": number(5, "a search running longer is stopped", minimum=0.1,
                            maximum=60),
})

SEARCH_PARAMS: dict[str, Any] = params({
    "query": {"type": "string", "description": "words to find (FTS5 syntax; empty: all)",
              "default": ""},
    "since": {"type": "string", "description": "ISO time or an age: 30m, 2h, 1d"},
    "until": {"type": "string", "description": "ISO time or an age"},
    "source": {"type": "string", "description": "one source (globs allowed)"},
    "unit": {"type": "string", "description": "a unit or container name (globs allowed)"},
    "level": {"type": "string", "description": "this level or worse: err, warning, info"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
})

CONTEXT_PARAMS: dict[str, Any] = params({
    "id": {"type": "integer", "minimum": 1, "description": "a line's id from logs.search"},
    "lines": {"type": "integer", "minimum": 0, "maximum": 20, "default": 5,
              "description": "lines before and after"},
}, required=["id"])


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say: unique source and rule names, a usable syslog port."""
    problems = []
    seen: set[str] = set()
    for i, source in enumerate(config.get("files", [])):
        if source["name"] in seen:
            problems.append((f"files.{i}.name", f"source {source['name']!r} is named twice"))
        seen.add(source["name"])
    syslog = settings(config)["syslog"]
    if syslog["enabled"]:
        if syslog["name"] in seen:
            problems.append(("syslog.name", "a file source has this name"))
        if syslog["udp_port"] is None and syslog["tcp_port"] is None:
            problems.append(("syslog", "enabled with neither udp_port nor tcp_port"))
    rules: set[str] = set()
    for i, rule in enumerate(config.get("rules", [])):
        if rule["name"] in rules or rule["name"] == "ingest":
            problems.append((f"rules.{i}.name", f"rule name {rule['name']!r} is taken"))
        rules.add(rule["name"])
    return problems


def _filled(value: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {k: p["default"] for k, p in schema["properties"].items() if "default" in p}
    return {**defaults, **value}


def settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with the defaults of its nested tables filled in too (the core fills
    the top level only): file sources, the syslog table, the rules."""
    return {**config,
            "files": [_filled(f, FILE_SOURCE) for f in config.get("files", [])],
            "syslog": _filled(config.get("syslog", {}), SYSLOG),
            "containers": _filled(config.get("containers", {}), CONTAINERS),
            "journal": _filled(config.get("journal", {}), JOURNAL),
            "rules": [_filled(r, RULE) for r in config.get("rules", [])]}
