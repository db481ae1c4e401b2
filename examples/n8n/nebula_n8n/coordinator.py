"""The plugin's runtime: the n8n client and one poll of the workflow list, shared by the
check, the panel and the tools (poll once, read many)."""

from __future__ import annotations

from typing import Any

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula_n8n.client import N8nClient


class N8n:
    def __init__(self, ctx: PluginContext) -> None:
        config = ctx.config
        # The agent's shared session, fetched per request: the agent may replace it.
        self.client = N8nClient(lambda: ctx.http, config["url"], config.get("api_key"),
                                config["timeout"])
        page_size = config["page_size"]

        async def fetch() -> list[dict[str, Any]]:
            return await self.client.workflows(page_size)

        # Fetched at most once per interval whoever asks, and again after an action.
        self.workflows: Coordinator[list[dict[str, Any]]] = Coordinator(
            fetch, max_age=config["interval"], name=f"{ctx.name}.workflows", log=ctx.log)

    async def set_active(self, workflow_id: str, active: bool) -> dict[str, Any]:
        workflow = await self.client.set_active(workflow_id, active)
        self.workflows.invalidate()
        return workflow

    async def aclose(self) -> None:
        """Called by the core when the plugin stops: a poll in flight is cancelled."""
        await self.workflows.aclose()
