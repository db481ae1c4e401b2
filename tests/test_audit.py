"""What the audit log records: every run asked by a person, Jarvis or a policy; not the
lookups plugins make of each other's read-only actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from nebula.api import Action, Manifest, PluginContext, hookimpl


class Lookup:
    manifest = Manifest(api_version="1.2")

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> PluginContext:
        return ctx

    async def _address(self, params: Mapping[str, Any]) -> Any:
        return {"address": "198.51.100.7"}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [Action("address", self._address, read_only=True)]


async def test_a_plugins_read_only_lookups_write_no_audit_rows(nebula_agent):
    async with nebula_agent({"lookup": Lookup()}) as a:
        ctx = a.agent.manager.records["lookup"].ctx
        for _ in range(20):
            outcome = await ctx.call_action("lookup.address", {})
            assert outcome["result"] == {"address": "198.51.100.7"}
        _, audit = await a.get("/api/v1/audit?action=lookup.address")
        assert audit["audit"] == []
        # A person asking is still on record.
        await a.run_action("lookup.address")
        _, audit = await a.get("/api/v1/audit?action=lookup.address")
        assert [row["outcome"] for row in audit["audit"]] == ["ok"]


def test_read_only_excludes_destructive_and_prepare():
    async def run(params: Mapping[str, Any]) -> None:
        return None

    with pytest.raises(ValueError, match="read_only"):
        Action("wipe", run, read_only=True, destructive=True)


async def test_search_the_audit_log_by_part_of_a_name_plugin_dates_and_pages(nebula_agent):
    async with nebula_agent({"lookup": Lookup()}) as a:
        actions = a.agent.actions
        for action, detail in (("postgres.backup", ""), ("postgres.vacuum", ""),
                               ("docker.restart", "asked about postgres_db"),
                               ("docker.stop", "100%_done")):
            await actions.audit("user:ann", action, {}, "ok", 1.0, None, detail)
        _, found = await a.get("/api/v1/audit?q=POSTGRES")
        # Part of the name, any case, in the action or the detail.
        assert [r["action"] for r in found["audit"]] == [
            "docker.restart", "postgres.vacuum", "postgres.backup"]
        _, found = await a.get("/api/v1/audit?plugin=postgres&limit=1&offset=1")
        assert [r["action"] for r in found["audit"]] == ["postgres.backup"]
        # LIKE's wildcards in the search are plain characters.
        _, found = await a.get("/api/v1/audit?q=%25_")
        assert [r["action"] for r in found["audit"]] == ["docker.stop"]
        _, found = await a.get("/api/v1/audit?q=postgres&until=1")
        assert found["audit"] == []
