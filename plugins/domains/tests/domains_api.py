"""Talking to the domains plugin through the agent's HTTP API, for the tests."""

from __future__ import annotations

from domains_zone import ZONE


def name(label):
    return f"{label}.{ZONE}"


def check_id(label):
    return "domains." + f"{label}_{ZONE}".replace(".", "_")


async def run_checks(agent, *labels):
    """{label: (status, summary)} of the hosts' checks, run now."""
    _, plugins = await agent.get("/api/v1/plugins/domains")
    assert plugins["state"] == "loaded", plugins
    status, body = await agent.post("/api/v1/checks/run",
                                    {"names": [check_id(label) for label in labels]})
    assert status == 200, body
    return {c["name"].removeprefix("domains.").removesuffix("_site_test"):
            (c["last_status"], c["summary"]) for c in body["checks"]}


async def table(agent):
    status, body = await agent.get("/api/v1/panels/domains.table")
    assert status == 200, body
    return {row["host"].split(".")[0]: row for row in body["data"]}
