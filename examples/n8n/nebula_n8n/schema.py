"""The `[plugins.n8n]` config schema and the params of the actions and tools: plain data,
read with the manifest."""

from __future__ import annotations

from typing import Any

from nebula.helpers.schema import integer, interval, params, string, timeout, url

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "properties": {
        "url": url("http://127.0.0.1:5678", "n8n's base URL."),
        # Secret-named: masked in `config show`, logs and API answers. Prefer
        # `api_key_file = "/run/secrets/n8n"` or `api_key = "${N8N_API_KEY}"`.
        "api_key": string(None, "n8n API key (Settings > n8n API)."),
        "interval": interval(60, "Seconds between polls of n8n's workflow list.", 5),
        "timeout": timeout("Seconds for one request to n8n."),
        "page_size": integer(100, "Workflows per API page (n8n allows up to 250).", 1, 250),
    }}

WORKFLOW_ID = params({"id": string(None, "The workflow's id.", min_length=1)},
                     required=["id"])
WORKFLOWS_QUERY = params({"active": {"type": "boolean",
                                     "description": "Only active (or inactive) ones."}})
