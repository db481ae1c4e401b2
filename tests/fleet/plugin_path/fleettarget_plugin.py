"""A plugin the fleet tests put on a real agent's path (found through the dist-info beside
it, as an installed plugin is): one destructive action that leaves a mark on disk, so a
test sees whether the target's gate let it run, and an action that emits an event."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nebula.api import Action, Manifest, PluginContext, hookimpl

manifest = Manifest(api_version="1.2", description="fleet test target",
                    hooks="fleettarget_plugin", enabled_by_default=True)
PARAMS = {"type": "object", "additionalProperties": False,
          "properties": {"target": {"type": "string"}}}


@hookimpl
def nebula_actions(ctx: PluginContext) -> list[Action]:
    marks = Path(os.environ["FLEET_TARGET_MARKS"])

    async def wipe(params: dict[str, Any]) -> dict[str, Any]:
        with marks.open("a") as f:  # noqa: ASYNC230 - one short line, in a test plugin
            f.write(params.get("target", "") + "\n")
        return {"wiped": params.get("target")}

    async def ping(params: dict[str, Any]) -> dict[str, Any]:
        await ctx.emit("ping", {"n": params.get("target")})
        return {"pinged": True}

    return [Action("wipe", wipe, params=PARAMS, destructive=True),
            Action("ping", ping, params=PARAMS)]
