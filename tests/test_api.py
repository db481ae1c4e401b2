"""The HTTP API over real sockets on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest

from nebula.api import Status
from tests.sample_plugins import FlakySubscriber, Switchable
from tests.waiting import eventually


async def test_healthz_is_the_only_open_route(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        async with a.session.get(a.url + "/healthz") as resp:
            assert resp.status == 200
        for path in ("/api/v1/checks", "/metrics", "/api/v1/openapi.json",
                     "/plugins/switchable/hello/x"):
            status, body = await a.get(path, token="")
            assert status == 401, path
            assert body["status"] == 401
            status, _ = await a.get(path, token="nbl_wrong")
            assert status == 401


async def test_checks_listed_run_and_history(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}, agent={"flap_threshold": 1}) as a:
        status, body = await a.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
        assert status == 200
        assert body["checks"][0]["status"] == "ok"
        plugin.status = Status.CRITICAL
        await a.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
        status, body = await a.get("/api/v1/checks")
        assert body["summary"]["critical"] == 1
        assert body["checks"][0]["summary"] == "switch is critical"
        status, body = await a.get("/api/v1/checks/switchable.switch/history")
        assert [r["status"] for r in body["results"]] == ["critical", "ok"]
        status, body = await a.get("/api/v1/checks/nope")
        assert status == 404
        status, body = await a.post("/api/v1/checks/run", {"names": ["nope"]})
        assert status == 404


async def test_action_params_are_validated_listing_every_problem(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        status, body = await a.post("/api/v1/actions/switchable.echo/run",
                                    {"params": {"times": 9, "extra": 1}})
        assert status == 422
        messages = " ".join(e["message"] for e in body["errors"])
        assert "'word' is a required property" in messages
        assert "9 is greater than the maximum of 3" in messages
        assert "Additional properties" in messages
        status, body = await a.post("/api/v1/actions/switchable.echo/run",
                                    {"params": {"word": "hi"}})
        assert (status, body["result"]) == (200, {"echo": {"word": "hi"}})


async def test_destructive_action_waits_for_approval(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as a:
        status, viewer = await a.post("/api/v1/tokens", {"name": "ro", "role": "viewer"})
        assert status == 201
        status, body = await a.post("/api/v1/actions/switchable.delete/run",
                                    {"params": {"target": "db1"}})
        assert status == 202
        assert body["status"] == "pending_approval"
        approval = body["approval"]["id"]
        assert plugin.deleted == []
        # A viewer can see it but not approve it, and an API token cannot pre-approve.
        status, _ = await a.post(f"/api/v1/approvals/{approval}/approve", token=viewer["token"])
        assert status == 403
        _, admin = await a.post("/api/v1/tokens", {"name": "ci"})
        status, body = await a.post("/api/v1/actions/switchable.delete/run",
                                    {"params": {"target": "x"}, "approve": True},
                                    token=admin["token"])
        assert status == 403
        status, body = await a.get("/api/v1/approvals?status=pending")
        assert [p["id"] for p in body["approvals"]] == [approval]
        status, body = await a.post(f"/api/v1/approvals/{approval}/approve")
        assert status == 200, body
        assert body["result"] == "deleted db1"
        assert plugin.deleted == ["db1"]
        status, body = await a.post(f"/api/v1/approvals/{approval}/approve")
        assert status == 409
        _, audit = await a.get("/api/v1/audit?action=switchable.delete")
        outcomes = [(r["outcome"], r["approval_id"]) for r in audit["audit"]]
        assert outcomes == [("ok", approval), ("pending_approval", approval)]
        assert "approved by local-admin" in audit["audit"][0]["detail"]


async def test_denied_action_never_runs(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as a:
        _, body = await a.post("/api/v1/actions/switchable.delete/run",
                               {"params": {"target": "db1"}})
        approval = body["approval"]["id"]
        status, body = await a.post(f"/api/v1/approvals/{approval}/deny", {"reason": "no"})
        assert (status, body["status"]) == (200, "denied")
        status, _ = await a.post(f"/api/v1/approvals/{approval}/approve")
        assert status == 409
        assert plugin.deleted == []


async def test_bad_input_gets_4xx_problems_never_500(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        headers = {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"}
        async with a.session.post(a.url + "/api/v1/actions/switchable.echo/run",
                                  data=b"{not json", headers=headers) as resp:
            assert resp.status == 400
            assert resp.content_type == "application/problem+json"
        cases = [
            ("POST", "/api/v1/actions/nope.nope/run", {}, 404),
            ("POST", "/api/v1/actions/switchable.echo/run", [1, 2], 422),
            ("POST", "/api/v1/actions/switchable.echo/run", {"params": "x"}, 422),
            ("GET", "/api/v1/checks/switchable.switch/history?limit=abc", None, 400),
            ("GET", "/api/v1/approvals?status=maybe", None, 400),
            ("POST", "/api/v1/approvals/nope/approve", {}, 404),
            ("DELETE", "/api/v1/tokens/abc", None, 400),
            ("DELETE", "/api/v1/tokens/999", None, 404),
            ("GET", "/api/v1/nothing-here", None, 404),
            ("PUT", "/api/v1/checks", {}, 405),
            ("POST", "/api/v1/tokens", {"name": ""}, 422),
        ]
        for method, path, body, expected in cases:
            status, answer = await a.request(method, path, body)
            assert status == expected, (method, path, answer)
            assert answer["status"] == expected


async def test_plugin_routes_panels_tools_and_jobs(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as a:
        status, body = await a.get("/plugins/switchable/hello/world")
        assert (status, body) == (200, {"hello": "world"})
        status, body = await a.get("/plugins/switchable/nope")
        assert status == 404
        status, body = await a.get("/api/v1/panels/switchable.answer")
        assert body["data"] == {"value": 42}
        assert body["fields"][0]["label"] == "Answer"
        _, body = await a.get("/api/v1/tools")
        assert body["tools"][0]["action"] == "switchable.delete"
        await asyncio.sleep(0.35)
        _, body = await a.get("/api/v1/jobs")
        tick = next(j for j in body["jobs"] if j["name"] == "job:switchable.tick")
        assert tick["runs"] >= 2 and tick["next_run"] > 0
        assert plugin.job_runs >= 2


async def test_events_websocket_streams_check_changes(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}, agent={"flap_threshold": 2}) as a:
        await a.post("/api/v1/checks/run")
        headers = {"Authorization": f"Bearer {a.token}"}
        async with a.session.ws_connect(a.url + "/api/v1/events?topic=check.*",
                                        headers=headers) as ws:
            plugin.status = Status.WARNING
            await a.post("/api/v1/checks/run")
            await a.post("/api/v1/checks/run")  # the second agreeing result moves the state
            msg = await asyncio.wait_for(ws.receive(), 5)
            event = json.loads(msg.data)
            assert event["topic"] == "check.changed"
            assert (event["data"]["old"], event["data"]["new"]) == ("ok", "warning")
        assert any(e["topic"] == "check.changed" for e in plugin.seen_events)
        _, body = await a.get("/api/v1/events?topic=check.*")
        assert body["events"][-1]["data"]["new"] == "warning"


async def test_openapi_documents_every_route(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        _, doc = await a.get("/api/v1/openapi.json")
        documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
        routes = {(r.method, r.resource.canonical) for r in a.app.router.routes()}
        routes = {(m, p.replace("{tail:.*}", "{tail}")) for m, p in routes if m != "HEAD"}
        expanded = {(m2, p) for m, p in routes
                    for m2 in (("GET", "POST", "PUT", "PATCH", "DELETE") if m == "*" else (m,))}
        assert expanded <= documented, expanded - documented
        assert len(expanded) > 25


async def test_metrics_in_prometheus_format(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await a.post("/api/v1/checks/run")
        await a.post("/api/v1/actions/switchable.echo/run", {"params": {"word": "x"}})
        status, text = await a.get("/metrics")
        assert status == 200
        assert 'nebula_check_status{check="switchable.switch",plugin="switchable"} 0.0' in text
        assert 'nebula_plugin_state{plugin="switchable",state="loaded"} 1.0' in text
        assert 'nebula_action_runs_total{action="switchable.echo",outcome="ok"} 1.0' in text
        assert "nebula_check_duration_seconds_bucket" in text
        # Uptime from the stored history (the uptime built-in), per window.
        for window in ("24h", "7d", "30d", "90d"):
            assert ('nebula_check_uptime_ratio{check="switchable.switch",plugin="switchable",'
                    f'window="{window}"}} 1.0') in text


@pytest.mark.parametrize("role,status", [("viewer", 403), ("admin", 200)])
async def test_roles(nebula_agent, role, status):
    async with nebula_agent({"switchable": Switchable()}) as a:
        _, tok = await a.post("/api/v1/tokens", {"name": role, "role": role})
        got, _ = await a.post("/api/v1/actions/switchable.echo/run",
                              {"params": {"word": "x"}}, token=tok["token"])
        assert got == status
        got, _ = await a.get("/api/v1/checks", token=tok["token"])
        assert got == 200
        await a.request("DELETE", f"/api/v1/tokens/{tok['id']}")
        got, _ = await a.get("/api/v1/checks", token=tok["token"])
        assert got == 401



async def test_a_failing_subscription_handler_keeps_receiving(nebula_agent):
    flaky = FlakySubscriber()
    async with nebula_agent({"flaky": flaky}) as a:
        for n in range(3):
            await a.agent.bus.publish("plugin.poke", {"n": n})
        await eventually(lambda: flaky.received == ["plugin.poke"])
        assert flaky.calls == 3
