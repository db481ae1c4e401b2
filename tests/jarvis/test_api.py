"""Jarvis's HTTP surface, its config section, diagnose, and its cost to an agent not using it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from nebula.config import ConfigError, load
from nebula.contributions import Status
from tests.jarvis.conftest import write_jarvis_config
from tests.jarvis.openai_server import text, tool_call
from tests.jarvis.ops_plugin import SECRET, Ops


async def test_disabled_jarvis_answers_503_and_leaves_the_agent_alone(nebula_agent):
    async with nebula_agent({"ops": Ops()}) as agent:
        status, body = await agent.get("/api/v1/jarvis/status")
        assert status == 200
        assert body["enabled"] is False and body["model"] is None
        assert "[jarvis]" in body["reason"] and "base_url" in body["reason"]
        for path, payload in (("/api/v1/jarvis/conversations", {"message": "hi"}),
                              ("/api/v1/jarvis/diagnose", {"check": "ops.web"})):
            status, problem = await agent.post(path, payload)
            assert status == 503 and problem["detail"] == body["reason"]
        assert (await agent.get("/api/v1/status"))[0] == 200
        # Tools still work by hand: they do not need a model.
        status, outcome = await agent.post("/api/v1/tools/ops.logs/run", {})
        assert status == 200 and outcome["status"] == "ok"


@pytest.mark.e2e  # an agent in a fresh interpreter
def test_openai_is_not_imported_until_jarvis_is_used(tmp_path):
    """Idle memory: an agent that never asks Jarvis anything must not load the SDK."""
    path = write_jarvis_config(tmp_path / "nebula.toml",
                               {"base_url": "http://127.0.0.1:9/v1", "max_retries": 0})
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from nebula.config import load
        from nebula.testing import run_agent

        async def main():
            async with run_agent(load(Path({str(path)!r})), discover=True) as agent:
                for p in ("/api/v1/jarvis/status", "/api/v1/tools",
                          "/api/v1/jarvis/conversations"):
                    assert (await agent.get(p))[0] == 200
                print("openai-loaded", "openai" in sys.modules)
                await agent.post("/api/v1/jarvis/conversations", {{"message": "hi"}})
                while "openai" not in sys.modules:
                    await asyncio.sleep(0.01)
                print("openai-loaded", "openai" in sys.modules)

        asyncio.run(main())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = [line.split()[1] for line in proc.stdout.splitlines()
            if line.startswith("openai-loaded")]
    assert seen == ["False", "True"]


def test_config_section_is_validated_and_its_key_is_a_secret(tmp_path, monkeypatch):
    key_file = tmp_path / "key"
    key_file.write_text("sk-test-0123456789abcdef\n")
    path = write_jarvis_config(tmp_path / "nebula.toml",
                               {"api_key_file": str(key_file), "model": "gpt-4o"})
    config = load(path)
    assert config.sections["jarvis"]["api_key"] == "sk-test-0123456789abcdef"
    from nebula.secrets import SECRETS

    assert SECRETS.redact("key sk-test-0123456789abcdef") == "key ***"
    from nebula.builtins.jarvis.settings import settings_from

    settings = settings_from(config.sections["jarvis"])
    assert settings.enabled and settings.base_url == "https://api.openai.com/v1"
    local = settings_from({**config.sections["jarvis"], "api_key": "",
                           "base_url": "http://ollama:11434/v1"})
    assert local.enabled and local.api_key == "not-needed" and local.host == "ollama:11434"

    write_jarvis_config(path, {"base_url": "http://x", "max_step": 3})
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "jarvis.max_step" in str(err.value) and "did you mean 'max_steps'" in str(err.value)


async def test_tools_listed_and_run_by_hand(jarvis_agent):
    async with jarvis_agent() as (agent, ops):
        _, listing = await agent.get("/api/v1/tools")
        names = {t["name"]: t for t in listing["tools"]}
        assert names["ops.restart"]["action"] == "ops.restart"
        assert names["ops.logs"]["read_only"] is True

        status, outcome = await agent.post("/api/v1/tools/ops.service_status/run", {})
        assert status == 200 and outcome["status"] == "ok"
        assert SECRET not in json.dumps(outcome)
        # The model's function name works too; a destructive action waits for approval.
        status, outcome = await agent.post("/api/v1/tools/ops__restart/run", {"name": "web"})
        assert status == 202 and outcome["status"] == "pending_approval"
        assert ops.restarted == []
        status, problem = await agent.post("/api/v1/tools/ops.restart/run", {"nom": "web"})
        assert status == 422 and problem["errors"]
        status, _ = await agent.post("/api/v1/tools/ops.nothing/run", {})
        assert status == 404
        _, audit = await agent.get("/api/v1/audit?actor=local-admin")
        assert {row["action"] for row in audit["audit"]} == {"ops.service_status",
                                                             "ops.restart"}


async def test_bad_input_is_a_problem(jarvis_agent):
    async with jarvis_agent() as (agent, _):
        status, problem = await agent.post("/api/v1/jarvis/conversations", {"msg": "hi"})
        assert status == 422 and problem["errors"]
        status, _ = await agent.get("/api/v1/jarvis/conversations/nope")
        assert status == 404
        status, _ = await agent.post("/api/v1/jarvis/diagnose", {"check": "ops.nope"})
        assert status == 404


DIAGNOSIS = {
    "hypothesis": "The web service lost its database connection.",
    "evidence": ["logs show connection refused", "check critical for 2 runs"],
    "proposed_actions": [
        {"action": "ops.restart", "params": {"name": "web"}, "why": "reconnect"},
        {"action": "ops.clear_cache", "params": {}, "why": "stale cache"},
        {"action": "ops.reboot_host", "params": {}, "why": "made up"},
        {"action": "ops.delete_volume", "params": {"volume": "data"}, "why": "off-schema"},
    ],
}


async def test_diagnose_files_proposed_actions_as_approvals(jarvis_agent, model):
    model.add(tool_call("ops__delete_volume", {"name": "data"}),
              text("```json\n" + json.dumps(DIAGNOSIS) + "\n```"))
    # One model over every read-only tool (the coordinator's path: tests/jarvis/test_team.py).
    async with jarvis_agent(specialists=False) as (agent, ops):
        ops.status, ops.summary = Status.CRITICAL, "web: connection refused"
        ops.logs = "db: connection refused"
        for _ in range(3):
            await agent.agent.health.run("ops.web")
        status, body = await agent.post("/api/v1/jarvis/diagnose", {"check": "ops.web"})
        assert status == 200, body
        _, pending = await agent.get("/api/v1/approvals?status=pending")
        _, audit = await agent.get(f"/api/v1/audit?actor=jarvis:{body['id']}")
    assert body["hypothesis"] == DIAGNOSIS["hypothesis"]
    assert body["evidence"] == DIAGNOSIS["evidence"]
    restart, clear = body["proposed_actions"]
    assert restart["destructive"] and restart["approval_id"]
    assert [(a["id"], a["action"]) for a in pending["approvals"]] == [
        (restart["approval_id"], "ops.restart")]
    assert clear == {"action": "ops.clear_cache", "params": {}, "why": "stale cache",
                     "destructive": False}
    assert ops.cleared == 0 and ops.restarted == [] and ops.deleted == []
    assert [d["action"] for d in body["dropped"]] == ["ops.reboot_host", "ops.delete_volume"]
    assert "no action named" in body["dropped"][0]["reason"]
    # The model saw the history and the plugin's state, was offered only read-only tools,
    # and its destructive tool call was refused rather than run.
    first = model.requests[0]
    context = json.loads(first["messages"][1]["content"])
    assert [h["status"] for h in context["history"]] == ["critical"] * 3
    assert "db: connection refused" in context["plugin_state"]["ops.logs"]
    assert SECRET not in model.sent_text()
    assert {t["function"]["name"] for t in first["tools"]} == {"ops__service_status",
                                                               "ops__logs"}
    refused = json.loads(model.requests[1]["messages"][-1]["content"])
    assert refused["status"] == "invalid" and "propose it" in refused["errors"][0]
    assert {row["action"] for row in audit["audit"]} == {"ops.service_status", "ops.logs",
                                                         "ops.restart"}


async def test_diagnose_with_a_plain_text_answer(jarvis_agent, model):
    model.add(text("Probably the disk is full."))
    async with jarvis_agent() as (agent, _):
        status, body = await agent.post("/api/v1/jarvis/diagnose", {"check": "ops.web"})
    assert status == 200
    assert body["hypothesis"] == "Probably the disk is full."
    assert body["proposed_actions"] == []


async def test_routes_are_in_openapi_and_admin_only_for_writes(jarvis_agent):
    async with jarvis_agent() as (agent, _):
        _, doc = await agent.get("/api/v1/openapi.json")
        for path in ("/api/v1/jarvis/status", "/api/v1/jarvis/conversations",
                     "/api/v1/jarvis/conversations/{id}",
                     "/api/v1/jarvis/conversations/{id}/messages",
                     "/api/v1/jarvis/diagnose", "/api/v1/tools/{name}/run"):
            assert path in doc["paths"], path
        viewer = (await agent.agent.tokens.create("reader", "viewer"))["token"]
        status, _ = await agent.post("/api/v1/jarvis/conversations", {"message": "hi"},
                                     token=viewer)
        assert status == 403
        assert (await agent.get("/api/v1/jarvis/conversations", token=viewer))[0] == 200


def test_the_shipped_config_documents_valid_jarvis_keys():
    """Every `# key = value` line of the commented [jarvis] example in nebula.toml is a
    valid setting (each alone: the example shows alternatives for the same key)."""
    from pathlib import Path

    import jsonschema

    from nebula.builtins.jarvis.schema import JARVIS_SCHEMA
    from nebula.config import tomllib

    text = (Path(__file__).resolve().parents[2] / "nebula.toml").read_text()
    block = text.split("# [jarvis]\n", 1)[1].split("\n\n", 1)[0]
    keys = set()
    for line in block.splitlines():
        setting = line.removeprefix("# ").split("  #")[0].strip()
        if " = " not in setting or setting.startswith("A "):
            continue
        item = tomllib.loads(setting)
        jsonschema.validate(item, JARVIS_SCHEMA)
        keys |= item.keys()
    assert keys == set(JARVIS_SCHEMA["properties"]) - {"enabled"}


async def test_a_reload_applies_a_new_jarvis_section(nebula_agent, tmp_path, model):
    async with nebula_agent({"ops": Ops()}) as agent:
        assert (await agent.get("/api/v1/jarvis/status"))[1]["enabled"] is False
        write_jarvis_config(tmp_path / "nebula.toml", {"base_url": model.base_url})
        await agent.agent.reload_from_disk()
        _, status = await agent.get("/api/v1/jarvis/status")
        assert status["enabled"] is True and status["base_url_host"] == f"127.0.0.1:{model.port}"
