"""Jarvis's settings from its `[jarvis]` section, and whether they enable it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

OPENAI_URL = "https://api.openai.com/v1"
# The SDK refuses an empty key; local servers (Ollama, llama.cpp, vLLM) ignore this one.
NO_KEY = "not-needed"
@dataclass(frozen=True)
class Settings:
    enabled: bool
    reason: str | None
    base_url: str
    api_key: str
    model: str
    max_steps: int
    max_tool_output: int
    token_budget: int
    timeout: float
    max_retries: int
    tool_timeout: float
    recent_events: int
    system_prompt_extra: str
    specialists: bool

    @property
    def host(self) -> str | None:
        return urlsplit(self.base_url).netloc or None if self.enabled else None

    def public(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "reason": self.reason,
                "model": self.model if self.enabled else None, "base_url_host": self.host}


def settings_from(section: Mapping[str, Any]) -> Settings:
    """Settings from a validated section (defaults filled in). A key alone means OpenAI; a
    base_url alone means a local server that needs no key; neither leaves Jarvis off."""
    base_url, api_key = section["base_url"].strip(), section["api_key"].strip()
    reason = None
    if not section["enabled"]:
        reason = "Jarvis is turned off ([jarvis] enabled = false in nebula.toml)"
    elif not base_url and not api_key:
        reason = ("Jarvis is not configured: set api_key (OpenAI) or base_url (a local "
                  "Ollama, llama.cpp or vLLM server) in the [jarvis] section of nebula.toml "
                  "and restart the agent; see docs/jarvis.md")
    return Settings(
        enabled=reason is None, reason=reason, base_url=(base_url or OPENAI_URL).rstrip("/"),
        api_key=api_key or NO_KEY, model=section["model"], max_steps=section["max_steps"],
        max_tool_output=section["max_tool_output"], token_budget=section["token_budget"],
        timeout=float(section["timeout"]), max_retries=section["max_retries"],
        tool_timeout=float(section["tool_timeout"]), recent_events=section["recent_events"],
        system_prompt_extra=section["system_prompt_extra"], specialists=section["specialists"])
