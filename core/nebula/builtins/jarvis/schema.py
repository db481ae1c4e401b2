"""The `[jarvis]` section of nebula.toml (plain data, read without importing Jarvis)."""

from __future__ import annotations

from typing import Any

JARVIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": True},
        "base_url": {"type": "string", "default": ""},
        "api_key": {"type": "string", "default": "", "writeOnly": True},
        "model": {"type": "string", "minLength": 1, "default": "gpt-4o-mini"},
        "max_steps": {"type": "integer", "minimum": 1, "maximum": 100, "default": 8},
        "max_tool_output": {"type": "integer", "minimum": 200, "default": 4000},
        "token_budget": {"type": "integer", "minimum": 100, "default": 60000},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 60},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2},
        "tool_timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30},
        "recent_events": {"type": "integer", "minimum": 0, "maximum": 100, "default": 10},
        "system_prompt_extra": {"type": "string", "default": ""},
        # Diagnoses go to the domain specialists through a coordinator (docs/jarvis.md).
        "specialists": {"type": "boolean", "default": True},
    },
}
