"""Plugins that ship inside the core: Jarvis and remediation (docs/plugins.md, "Built-in
plugins"). Each is shaped like a bundled 1.2 plugin — `plugin.py` (the manifest),
`schema.py`, `hooks.py` — and is registered by the plugin manager from
`nebula.manifests.BUILTIN_PLUGINS`, always, whatever else is installed or handed in.

Unlike a bundled plugin, a built-in may use the core's internals: it reaches the agent
through its context (`agent_of(ctx)`), and its endpoints use the HTTP layer's helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.context import PluginContext


def agent_of(ctx: PluginContext) -> Agent:
    """The agent a built-in plugin runs in (its context's services)."""
    if ctx.services is None:
        raise RuntimeError(f"{ctx.name} needs a running agent")
    return cast("Agent", ctx.services)
