"""What the apps tests look for after a failed deploy or a removal."""

from __future__ import annotations

from typing import Any


def nothing_left(client: Any, app: str) -> bool:
    """No container named `app` and no volume of it on the engine."""
    return not [c for c in client.containers.list(all=True) if c.name == app] and \
        not [v for v in client.volumes.list() if v.name.startswith(f"{app}-")]
