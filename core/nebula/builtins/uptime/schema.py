"""`[[status_page]]`: one table per status page (plain data and one pure check)."""

from __future__ import annotations

from typing import Any

from nebula.manifests import SectionProblems, named_tables

ADDRESS = r"^[a-z0-9_]+\.[A-Za-z0-9_.:/@-]+$"

PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "title", "groups"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
                 "description": "The page's address: /status/<slug>."},
        "title": {"type": "string", "minLength": 1, "maxLength": 120},
        "description": {"type": "string", "maxLength": 2000, "default": ""},
        "logo": {"type": "string", "pattern": "^(/|data:image/)",
                 "description": "A path this agent serves or a data: image (the panel's "
                                "Content-Security-Policy loads no other site's images)."},
        "public": {"type": "boolean", "default": False,
                   "description": "Serve it without signing in. Off: only signed-in users "
                                  "see it."},
        "cache_seconds": {"type": "number", "minimum": 1, "maximum": 300, "default": 10,
                          "description": "How long a built page is served as is."},
        "groups": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "checks"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 120},
                "checks": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["check"],
                    "properties": {
                        "check": {"type": "string", "pattern": ADDRESS},
                        "name": {"type": "string", "minLength": 1, "maxLength": 120,
                                 "description": "What the page calls it (default: the "
                                                "check's title)."},
                    }}},
            }}},
    },
}

SECTION_SCHEMA: dict[str, Any] = {"type": "array", "items": PAGE_SCHEMA}


def check_pages(value: Any) -> SectionProblems:
    """Slugs are unique: two pages at one address would hide one of them."""
    return named_tables(value, "status_page", "status page", key="slug")
