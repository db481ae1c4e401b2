"""A stored line as the API, the CLI, the panel and Jarvis see it: redacted (secrets never
leave the agent), with its level's name, an ISO time, and where the search hit it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from nebula_logs.levels import level_name
from nebula_logs.store import unmark


def present(row: dict[str, Any], redact: Callable[[Any], Any]) -> dict[str, Any]:
    message, spans = unmark(row["message"])
    masked = redact(message)
    if masked != message:
        spans = []  # offsets into the unmasked text would point past or into a secret
    return {**row, "message": masked, "highlights": spans,
            "host": redact(row["host"]), "unit": redact(row["unit"]),
            "time": datetime.fromtimestamp(row["ts"], timezone.utc).isoformat(
                timespec="milliseconds"),
            "level_name": level_name(row["level"])}
