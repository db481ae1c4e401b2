"""The OpenAPI document is one a client can be generated from: it validates (unique
operationIds, every reference resolvable), documents the error answers and the shapes of
the main answers, and a client generated from it by openapi-python-client calls a live
agent. The agent has every bundled plugin and built-in loaded (the example config,
uncommented), so plugin endpoints are in the document too."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomlkit
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from nebula.builtins.openapi.document import operation_id
from nebula.config import load
from nebula.testing import RunningAgent, run_agent
from tests.sample_plugins import Switchable
from tests.test_cli_example_config import bundled_plugins, dummy_env, uncommented

BUILT_INS = {"auth", "jarvis", "remediation", "maintenance", "service", "backup", "installer",
             "openapi", "prometheus"}
PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "422", "502", "503"}


@pytest.fixture
def every_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`async with every_plugin() as agent`: every bundled plugin and built-in configured
    as the example config shows them (discovered through their entry points), and the
    Switchable test plugin for a check and actions that run anywhere."""
    text = uncommented()
    for name, value in dummy_env(text).items():
        monkeypatch.setenv(name, value)
    doc = tomlkit.parse(text)
    doc["agent"]["data_dir"] = str(tmp_path / "data")  # type: ignore[index]
    doc["agent"]["allowed_hosts"] = ["127.0.0.1"]  # type: ignore[index]
    path = tmp_path / "nebula.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[RunningAgent]:
        async with run_agent(load(path), {"switchable": Switchable()}, discover=True,
                             schedule=False) as agent:
            states = {r.name: (r.state, r.error) for r in agent.agent.manager.records.values()}
            expected = bundled_plugins() | BUILT_INS | {"switchable"}
            assert {n: s for n, s in states.items() if s[0] != "loaded"} == {}
            assert expected <= set(states)
            yield agent

    return factory


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items()
            for method, op in ops.items()]


def test_operation_ids_come_from_method_and_path():
    assert operation_id("GET", "/api/v1/checks", "checks") == "get_checks"
    assert operation_id("POST", "/api/v1/actions/{name}/run", "actions") == \
        "post_actions_name_run"
    assert operation_id("GET", "/api/v1/{plugin}{tail:(?:/.*)?}", "plugins") == \
        "get_plugin_tail"
    # A panel page is told from the API route of the same path.
    assert operation_id("GET", "/approvals", "web") == "web_get_approvals"
    # A plugin's are prefixed by its name, relative to where its endpoints are mounted
    # (under its name, or a top-level path a built-in claims).
    assert operation_id("GET", "/api/v1/jarvis/status", "jarvis", "jarvis") == \
        "jarvis_get_status"
    assert operation_id("GET", "/api/v1/remediation", "remediation", "remediation") == \
        "remediation_get"
    assert operation_id("DELETE", "/api/v1/users/{name}", "users", "auth") == \
        "auth_delete_users_name"
    assert operation_id("POST", "/login", "web", "auth") == "auth_web_post_login"


async def test_the_document_validates_with_every_plugin_loaded(every_plugin):
    async with every_plugin() as a:
        status, doc = await a.get("/api/v1/openapi.json")
    assert status == 200
    validate(doc)  # raises on any problem, duplicate operationIds among them
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert {"get_checks", "post_actions_name_run", "get_approvals", "get_runs_id",
            "get_plugins", "jarvis_get_status", "auth_get_users", "remediation_get",
            "web_get_approvals"} <= set(ids)
    # Every plugin endpoint is prefixed by its plugin's name.
    for _, path, op in operations(doc):
        if path.startswith("/api/v1/jarvis/"):
            assert op["operationId"].startswith("jarvis_"), op["operationId"]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "an API token (nebula token create)"}


async def test_error_answers_are_documented_where_they_can_occur(every_plugin):
    async with every_plugin() as a:
        _, doc = await a.get("/api/v1/openapi.json")
    problem = {"$ref": "#/components/schemas/Problem"}
    responses = doc["components"]["responses"]
    assert {str(s) for s in PROBLEM_STATUSES} <= {
        code for _, _, op in operations(doc) for code in op["responses"]}
    for answer in responses.values():
        assert answer["content"] == {"application/problem+json": {"schema": problem}}
    assert doc["components"]["schemas"]["Problem"]["properties"]["status"] == {
        "type": "integer"}
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        codes = op["responses"]
        for code, answer in codes.items():
            if code in PROBLEM_STATUSES and "$ref" in answer:
                assert answer["$ref"].removeprefix("#/components/responses/") in responses
        if op.get("security") != []:
            assert {"401", "403"} <= set(codes), where
        if "{" in path:
            assert "404" in codes, where
        if "requestBody" in op:
            assert "422" in codes, where
    run = doc["paths"]["/api/v1/actions/{name}/run"]["post"]["responses"]
    assert {"200", "202", "502", "503"} <= set(run)
    approve = doc["paths"]["/api/v1/approvals/{id}/approve"]["post"]["responses"]
    assert "409" in approve
    assert "503" in doc["paths"]["/api/v1/jarvis/status"]["get"]["responses"]


def _schema_of(doc: dict[str, Any], path: str, method: str = "get",
               status: str = "200") -> Any:
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"]


async def test_main_answers_have_named_schemas_that_the_live_answers_match(every_plugin):
    """The schemas are true: what the running agent answers validates against them."""
    async with every_plugin() as a:
        _, doc = await a.get("/api/v1/openapi.json")
        named = {
            "/api/v1/checks": "CheckList", "/api/v1/checks/{name}": "Check",
            "/api/v1/checks/{name}/history": "CheckHistory", "/api/v1/actions": "ActionList",
            "/api/v1/approvals": "ApprovalList", "/api/v1/approvals/{id}": "Approval",
            "/api/v1/runs": "RunList", "/api/v1/runs/{id}": "Run",
            "/api/v1/plugins": "PluginList", "/api/v1/plugins/{name}": "PluginDetail",
            "/api/v1/status": "AgentStatus"}
        for path, name in named.items():
            assert _schema_of(doc, path) == {"$ref": f"#/components/schemas/{name}"}, path
        assert _schema_of(doc, "/api/v1/actions/{name}/run", "post", "502") == {
            "$ref": "#/components/schemas/ActionOutcome"}

        registry = Registry().with_resource("urn:nebula-openapi",
                                            Resource(doc, specification=DRAFT202012))

        def check(schema: Any, body: Any) -> None:
            if "$ref" in schema:
                schema = {"$ref": "urn:nebula-openapi" + schema["$ref"]}
            jsonschema.Draft202012Validator(schema, registry=registry).validate(body)

        # Some history, an approval and runs, so the lists are not empty.
        await a.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
        _, ran = await a.post("/api/v1/actions/switchable.echo/run", {"params": {"word": "x"}})
        status, pending = await a.post("/api/v1/actions/switchable.delete/run",
                                       {"params": {"target": "web"}})
        assert status == 202
        check(_schema_of(doc, "/api/v1/actions/{name}/run", "post", "202"), pending)
        check(_schema_of(doc, "/api/v1/actions/{name}/run", "post"), ran)
        concrete = {"/api/v1/checks/{name}": "/api/v1/checks/switchable.switch",
                    "/api/v1/checks/{name}/history": "/api/v1/checks/switchable.switch/history",
                    "/api/v1/approvals/{id}": f"/api/v1/approvals/{pending['approval']['id']}",
                    "/api/v1/runs/{id}": f"/api/v1/runs/{ran['run']}",
                    "/api/v1/plugins/{name}": "/api/v1/plugins/jarvis",
                    "/api/v1/panels/{name}": "/api/v1/panels/switchable.answer"}
        got = set()
        for method, path, op in operations(doc):
            # Every JSON answer to a GET (the events route, without an Upgrade, too).
            url = concrete.get(path, path)
            if method != "get" or not path.startswith("/api/v1/") or "{" in url:
                continue
            status, body = await a.get(url)
            got.add(path)
            assert status == 200, (url, body)
            check(op["responses"]["200"]["content"]["application/json"]["schema"], body)
        assert set(named) | {"/api/v1/jarvis/status", "/api/v1/users"} <= got
        # An error answer is the documented problem.
        status, body = await a.get("/api/v1/checks/nope")
        assert status == 404
        check(doc["components"]["responses"]["NotFound"]["content"][
            "application/problem+json"]["schema"], body)


@pytest.mark.e2e  # runs the generator in a subprocess
async def test_a_generated_client_calls_the_running_agent(every_plugin, tmp_path,
                                                         monkeypatch):
    async with every_plugin() as a:
        _, doc = await a.get("/api/v1/openapi.json")
        spec = tmp_path / "openapi.json"
        spec.write_text(json.dumps(doc), encoding="utf-8")
        config = tmp_path / "generator.json"
        config.write_text(json.dumps({"post_hooks": []}), encoding="utf-8")  # no ruff run
        # In a thread: the agent it will be called against runs on this loop.
        generated = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
             "--meta", "none", "--output-path", str(tmp_path / "nebula_client"),
             "--config", str(config)],
            capture_output=True, text=True, timeout=120, check=False)
        assert generated.returncode == 0, generated.stdout + generated.stderr
        # Every operation was generated: the generator warns about any it had to skip.
        assert "Warning" not in generated.stdout + generated.stderr, generated.stdout

        monkeypatch.syspath_prepend(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "nebula_client"]:
            del sys.modules[name]
        client_module = importlib.import_module("nebula_client")
        api = importlib.import_module("nebula_client.api")
        models = importlib.import_module("nebula_client.models")
        importlib.import_module("nebula_client.api.checks.get_checks")
        importlib.import_module("nebula_client.api.checks.post_checks_run")
        importlib.import_module("nebula_client.api.actions.post_actions_name_run")
        importlib.import_module("nebula_client.api.approvals.post_approvals_id_approve")
        importlib.import_module("nebula_client.api.plugins.get_plugins")
        importlib.import_module("nebula_client.api.jarvis.jarvis_get_status")

        client = client_module.AuthenticatedClient(base_url=a.url, token=a.token)
        async with client as client:
            ran = await api.checks.post_checks_run.asyncio(
                client=client, body=models.PostChecksRunBody(names=["switchable.switch"]))
            assert isinstance(ran, models.CheckRun)
            listed = await api.checks.get_checks.asyncio(client=client)
            assert isinstance(listed, models.CheckList)
            switch = next(c for c in listed.checks if c.name == "switchable.switch")
            assert switch.status == models.CheckStatus.OK and listed.summary.ok >= 1

            body = models.PostActionsNameRunBody(
                params=models.PostActionsNameRunBodyParams.from_dict({"word": "hi"}))
            answer = await api.actions.post_actions_name_run.asyncio_detailed(
                "switchable.echo", client=client, body=body)
            assert answer.status_code == 200
            outcome = answer.parsed
            assert isinstance(outcome, models.ActionOutcome)
            assert outcome.status == models.ActionOutcomeStatus.OK
            assert outcome.result == {"echo": {"word": "hi"}}

            # A destructive one files an approval; approving it runs it.
            body = models.PostActionsNameRunBody(
                params=models.PostActionsNameRunBodyParams.from_dict({"target": "web"}))
            answer = await api.actions.post_actions_name_run.asyncio_detailed(
                "switchable.delete", client=client, body=body)
            assert answer.status_code == 202
            approval = answer.parsed.approval
            assert approval.status == models.ApprovalStatus.PENDING
            decided = await api.approvals.post_approvals_id_approve.asyncio(
                approval.id, client=client,
                body=models.PostApprovalsIdApproveBody(digest=approval.digest))
            assert decided.status == models.ActionOutcomeStatus.OK
            assert decided.approval.status == models.ApprovalStatus.APPROVED

            # Errors come back as the Problem model.
            missing = await api.actions.post_actions_name_run.asyncio(
                "nope.nothing", client=client, body=models.PostActionsNameRunBody())
            assert isinstance(missing, models.Problem) and missing.status == 404

            plugins = await api.plugins.get_plugins.asyncio(client=client)
            assert {p.name: p.state for p in plugins.plugins}["docker"] == \
                models.PluginState.LOADED
            jarvis = await api.jarvis.jarvis_get_status.asyncio_detailed(client=client)
            assert jarvis.status_code == 200

        # Without the token, the generated client gets the 401 problem.
        anonymous = client_module.Client(base_url=a.url)
        async with anonymous as anonymous:
            refused = await api.checks.get_checks.asyncio(client=anonymous)
            assert isinstance(refused, models.Problem) and refused.status == 401
