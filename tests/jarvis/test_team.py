"""Jarvis's specialists end to end, driven by the scripted chat-completions server: a web
container's restart loop traced by the coordinator through the containers, databases and
storage specialists to a full disk, the fix filed as one pending approval; each model call
carrying only its specialist's tools; and how tools are shared out among the domains."""

from __future__ import annotations

import json

from nebula.api import hookimpl
from nebula.builtins.jarvis.specialists import roster
from nebula.contributions import Tool
from tests.jarvis.lab_plugin import LAB_SECRET, Lab
from tests.jarvis.openai_server import text, tool_call

CONTAINERS = {"findings": "web exits at start: its database refuses connections while it "
                          "is in recovery mode",
              "evidence": ["web: restarting, 14 restarts",
                           "web log: could not connect to db:5432: in recovery mode"],
              "proposed_actions": [{"action": "lab.restart_container",
                                    "params": {"name": "web"}, "why": "clears the loop"}]}
DATABASES = {"findings": "PostgreSQL cannot write its WAL: the disk is full",
             "evidence": ["db log: could not write to file pg_wal/xlogtemp.66: No space "
                          "left on device"], "proposed_actions": []}
STORAGE = {"findings": "/srv is 100% full; 38 GB of it are unused container images",
           "evidence": ["/srv: used 100%, 0 bytes free", "images: 38 GB"],
           "proposed_actions": [{"action": "lab.prune_images", "params": {},
                                 "why": "frees 38 GB on /srv"}]}
DIAGNOSIS = {"hypothesis": "The /srv disk is full, so PostgreSQL cannot write its WAL and "
                           "stays in recovery; web cannot connect and restarts in a loop.",
             "evidence": [*CONTAINERS["evidence"], *DATABASES["evidence"],
                          *STORAGE["evidence"]],
             "proposed_actions": STORAGE["proposed_actions"]}


def tool_names(request: dict) -> set[str]:
    return {t["function"]["name"] for t in request.get("tools", [])}


async def test_a_restart_loop_is_traced_to_a_full_disk_and_the_fix_waits_for_an_admin(
        jarvis_agent, model):
    model.add(
        tool_call("ask_containers", {"question": "Why is container web restarting?"}),
        tool_call("lab__list_containers", {}),
        tool_call("lab__container_logs", {"name": "web"}),
        text(json.dumps(CONTAINERS)),
        tool_call("ask_databases", {"question": "Why is the database in recovery mode and "
                                                "refusing connections?"}),
        tool_call("lab__database_log", {}),
        text(json.dumps(DATABASES)),
        tool_call("ask_storage", {"question": "Which disk is full under PostgreSQL, and "
                                              "what can be freed?"}),
        tool_call("lab__disk_usage", {}),
        text("```json\n" + json.dumps(STORAGE) + "\n```"),
        text(json.dumps(DIAGNOSIS)))
    lab = Lab()
    async with jarvis_agent(lab, name="lab", config={"db_password": LAB_SECRET}) as (agent, _):
        await agent.agent.health.run("lab.web")
        status, body = await agent.post("/api/v1/jarvis/diagnose", {"check": "lab.web"})
        assert status == 200, body
        _, pending = await agent.get("/api/v1/approvals?status=pending")
        assert lab.pruned == 0 and lab.restarted == []  # the diagnosis proposes; nobody acts
        await agent.approve(body["proposed_actions"][0]["approval_id"])
        # What one model call carried before the specialists: every tool's function.
        full = len(json.dumps(agent.agent.manager.runtime("jarvis").catalogue.functions(),
                              separators=(",", ":")))
    assert lab.pruned == 1

    assert body["hypothesis"] == DIAGNOSIS["hypothesis"]
    assert body["evidence"] == DIAGNOSIS["evidence"]
    [fix] = body["proposed_actions"]
    assert fix["action"] == "lab.prune_images" and fix["destructive"]
    # One approval, the root cause's fix, filed by this diagnosis.
    assert [(a["id"], a["action"], a["requested_by"]) for a in pending["approvals"]] == [
        (fix["approval_id"], "lab.prune_images", f"jarvis:{body['id']}")]
    assert [(c["specialist"], c["findings"]) for c in body["specialists"]] == [
        ("containers", CONTAINERS["findings"]), ("databases", DATABASES["findings"]),
        ("storage", STORAGE["findings"])]

    requests = model.requests
    who = [c["agent"] for c in body["model_calls"]["calls"]]
    assert who == ["coordinator", "containers", "containers", "containers", "coordinator",
                   "databases", "databases", "coordinator", "storage", "storage",
                   "coordinator"]
    assert len(requests) == len(who)
    # The coordinator has no system tools, only its specialists.
    routes = {"ask_containers", "ask_databases", "ask_network", "ask_storage",
              "ask_general"}
    for request, agent_name in zip(requests, who, strict=True):
        expected = {"coordinator": routes,
                    "containers": {"lab__list_containers", "lab__container_logs"},
                    "databases": {"lab__database_log"},
                    "storage": {"lab__disk_usage"}}[agent_name]
        assert tool_names(request) == expected, agent_name
    # Each specialist has its own brief, and proposes only its own domain's actions.
    containers_prompt = requests[1]["messages"][0]["content"]
    assert "containers specialist" in containers_prompt
    assert "lab.restart_container" in containers_prompt
    assert "lab.prune_images" not in requests[5]["messages"][0]["content"]
    assert "lab.prune_images" in requests[8]["messages"][0]["content"]
    # The coordinator got the check's context and each report; a specialist its question
    # and its tools' real answers (secrets masked on the way).
    assert "web restarting: 14 restarts" in requests[0]["messages"][1]["content"]
    assert requests[1]["messages"][1]["content"] == "Why is container web restarting?"
    assert "in recovery mode" in requests[3]["messages"][-1]["content"]
    assert "No space left on device" in requests[6]["messages"][-1]["content"]
    assert json.loads(requests[4]["messages"][-1]["content"])["findings"] == \
        CONTAINERS["findings"]
    assert LAB_SECRET not in model.sent_text()
    # The cost recorded is what went on the wire, and no call carried the whole catalogue
    # (bench/jarvis_team.py measures the ratio on every bundled plugin's tools).
    sizes = [c["catalogue_bytes"] for c in body["model_calls"]["calls"]]
    assert sizes == [len(json.dumps(r["tools"], separators=(",", ":"))) for r in requests]
    assert max(sizes) < full


async def test_one_domain_keeps_the_single_model(jarvis_agent, model):
    """With every tool in one domain, a coordinator would only add a hop."""
    from tests.jarvis.ops_plugin import Ops

    model.add(text("Probably the disk is full."))

    class OneDomain(Ops):
        @hookimpl
        def nebula_tools(self) -> list[Tool]:
            return [t for t in super().nebula_tools() if t.name == "service_status"]

    async with jarvis_agent(OneDomain()) as (agent, _):
        status, body = await agent.post("/api/v1/jarvis/diagnose", {"check": "ops.web"})
    assert status == 200 and body["specialists"] == []
    assert [c["agent"] for c in body["model_calls"]["calls"]] == ["jarvis"]
    assert tool_names(model.requests[0]) == {"ops__service_status"}


def test_tools_are_shared_out_by_the_words_of_their_names():
    names = ["docker.list_containers", "docker.docker_disk_usage", "docker.prune",
             "postgres.sizes", "postgres.slow_queries", "system.disk_usage",
             "zoneedit.public_ip", "domains.check_domain", "streambot.logs",
             "streambot.platforms_needing_reauth", "plex.now_playing",
             "caddy.upstream_health", "apps.list_stacks"]
    members = {name: sorted(t.name for t in tools)
               for name, (_, tools) in roster(Tool(n, "") for n in names).items()}
    assert members == {
        "containers": ["apps.list_stacks", "docker.docker_disk_usage",
                       "docker.list_containers", "docker.prune", "streambot.logs"],
        "databases": ["postgres.sizes", "postgres.slow_queries"],
        "network": ["caddy.upstream_health", "domains.check_domain", "zoneedit.public_ip"],
        "storage": ["docker.docker_disk_usage", "docker.prune", "postgres.sizes",
                    "system.disk_usage"],
        "security": ["streambot.platforms_needing_reauth"],
        "general": ["plex.now_playing"],
    }


async def test_a_question_goes_to_the_specialist_it_concerns(jarvis_agent, model):
    model.add(
        tool_call("ask_network", {"question": "Do the public names resolve?"}),
        tool_call("lab__dns_lookup", {}),
        text(json.dumps({"findings": "nothing wrong with DNS", "evidence": ["lookup ok"]})),
        text("DNS is fine: every public name resolves."))
    async with jarvis_agent(Lab(), name="lab", config={}) as (agent, _):
        status, body = await agent.post("/api/v1/jarvis/investigate",
                                        {"question": "Is DNS working?"})
        _, pending = await agent.get("/api/v1/approvals?status=pending")
        refused, _ = await agent.post("/api/v1/jarvis/investigate", {"question": ""})
    assert status == 200, body
    assert body["question"] == "Is DNS working?"
    assert body["hypothesis"] == "DNS is fine: every public name resolves."
    assert [c["specialist"] for c in body["specialists"]] == ["network"]
    assert body["proposed_actions"] == [] and pending["approvals"] == []
    assert tool_names(model.requests[1]) == {"lab__dns_lookup"}
    assert model.requests[0]["messages"][1]["content"] == "Is DNS working?"
    assert refused == 422
