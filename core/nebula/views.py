"""How the core's read models are shown, the same way by the API (JSON) and the web panel
(HTML): one place, so neither interface imports the other's handlers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nebula.contributions import Action, Panel

# Seconds a panel's data() may take, in an API answer or a page.
PANEL_TIMEOUT = 10.0


def describe_action(action: Action) -> dict[str, Any]:
    return {"name": action.name, "plugin": action.name.split(".")[0],
            "title": action.title or action.name, "description": action.description,
            "params": action.params, "destructive": action.destructive,
            "read_only": action.read_only, "timeout": action.timeout}


def describe_panel(panel: Panel) -> dict[str, Any]:
    return {"name": panel.name, "plugin": panel.name.split(".")[0], "kind": panel.kind,
            "title": panel.title or panel.name, "description": panel.description,
            "fields": [asdict(f) for f in panel.fields]}
