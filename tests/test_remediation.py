"""Self-healing policies in a real agent: check results feed the policy, the action runner
runs (or files for approval) its action, rate limit and breaker hold, events and audit rows
tell what happened, and the config is validated and reloaded like the rest."""

from __future__ import annotations

import asyncio
import json

import pytest

from nebula.api import Status
from nebula.config import ConfigError, load
from nebula.testing import run_agent
from tests.remediation_helpers import Fixable, cycle, events, policy_config, wait_events
from tests.test_cli_approvals import nebula_async

FIX = {"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
       "params": {"what": "cache"}}


def start(tmp_path, plugin, *policies, **agent):
    path = policy_config(tmp_path / "nebula.toml", list(policies), agent=agent)
    return run_agent(load(path), {"switchable": plugin}, schedule=False)


async def policies(agent):
    status, body = await agent.get("/api/v1/remediation")
    assert status == 200, body
    return {p["name"]: p for p in body["policies"]}


async def audit(agent, actor):
    _, body = await agent.get(f"/api/v1/audit?actor={actor}")
    return body["audit"]


async def test_runs_once_after_n_consecutive_results_and_is_audited(tmp_path):
    plugin = Fixable()
    async with start(tmp_path, plugin, {**FIX, "cycles": 3}) as agent:
        await cycle(agent, plugin, Status.CRITICAL, 2)
        await cycle(agent, plugin, Status.OK)  # an ok result breaks the streak
        await cycle(agent, plugin, Status.CRITICAL, 2)
        await asyncio.sleep(0.1)
        assert plugin.fixes == 0 and await events(agent, "remediation.*") == []
        await cycle(agent, plugin, Status.CRITICAL)
        ran = await wait_events(agent, "remediation.ran", 1)
        assert plugin.fixes == 1
        assert ran[0]["data"] == {"policy": "heal", "check": "switchable.switch",
                                  "action": "switchable.fix", "status": "ok",
                                  "check_summary": "switch is critical"}
        rows = await audit(agent, "remediation:heal")
        assert [(r["action"], r["outcome"], r["params"]) for r in rows] == [
            ("switchable.fix", "ok", {"what": "cache"})]
        state = (await policies(agent))["heal"]
        assert (state["valid"], state["runs_last_hour"], state["streak"]) == (True, 1, 0)
        assert state["last_run"]["status"] == "ok"
        # The streak starts over: the next run needs three more results.
        await cycle(agent, plugin, Status.CRITICAL, 2)
        await asyncio.sleep(0.1)
        assert plugin.fixes == 1


async def test_rate_limit_skips_runs_beyond_the_hourly_budget(tmp_path):
    plugin = Fixable()
    async with start(tmp_path, plugin, {**FIX, "cycles": 1, "max_runs_per_hour": 2}) as agent:
        for expected in (1, 2):
            await cycle(agent, plugin, Status.CRITICAL)
            await wait_events(agent, "remediation.ran", expected)
        await cycle(agent, plugin, Status.CRITICAL)
        skipped = await wait_events(agent, "remediation.skipped", 1)
        assert skipped[0]["data"]["reason"] == "rate_limited"
        assert plugin.fixes == 2
        assert (await policies(agent))["heal"]["runs_last_hour"] == 2
    # The window outlives a restart: it is read back from the audit log.
    async with start(tmp_path, plugin, {**FIX, "cycles": 1, "max_runs_per_hour": 2}) as agent:
        await cycle(agent, plugin, Status.CRITICAL)
        skipped = await wait_events(agent, "remediation.skipped", 1)
        assert skipped[0]["data"]["reason"] == "rate_limited" and plugin.fixes == 2


@pytest.mark.e2e  # the `nebula` command in a subprocess
async def test_breaker_opens_after_repeated_failures_and_resets(tmp_path):
    plugin = Fixable()
    plugin.broken = True
    policy = {**FIX, "cycles": 1, "max_runs_per_hour": 50, "breaker_failures": 2,
              "breaker_reset": 0}
    async with start(tmp_path, plugin, policy) as agent:
        for expected in (1, 2):
            await cycle(agent, plugin, Status.CRITICAL)
            await wait_events(agent, "remediation.ran", expected)
        opened = await wait_events(agent, "remediation.breaker_opened", 1)
        assert opened[0]["data"]["failures"] == 2
        assert "the fix itself failed" in opened[0]["data"]["error"]
        for expected in (1, 2):
            await cycle(agent, plugin, Status.CRITICAL)
            skipped = await wait_events(agent, "remediation.skipped", expected)
        assert {e["data"]["reason"] for e in skipped} == {"breaker_open"}
        assert plugin.fixes == 2
        state = (await policies(agent))["heal"]
        assert (state["breaker"], state["consecutive_failures"]) == ("open", 2)
        assert [r["outcome"] for r in await audit(agent, "remediation:heal")] == ["error"] * 2

        # breaker_reset = 0: only a hand reset closes it.
        code, _, err = await nebula_async(agent, tmp_path, "remediation", "reset", "heal")
        assert code == 0, err
        plugin.broken = False
        await cycle(agent, plugin, Status.CRITICAL)
        ran = await wait_events(agent, "remediation.ran", 3)
        assert ran[-1]["data"]["status"] == "ok" and plugin.fixes == 3
        assert (await policies(agent))["heal"]["breaker"] == "closed"


async def test_half_open_breaker_allows_one_trial_that_reopens_it(tmp_path):
    plugin = Fixable()
    plugin.broken = True
    policy = {**FIX, "cycles": 1, "max_runs_per_hour": 50, "breaker_failures": 1,
              "breaker_reset": 0.3}
    async with start(tmp_path, plugin, policy) as agent:
        await cycle(agent, plugin, Status.CRITICAL)
        await wait_events(agent, "remediation.breaker_opened", 1)
        await asyncio.sleep(0.35)
        assert (await policies(agent))["heal"]["breaker"] == "half_open"
        await cycle(agent, plugin, Status.CRITICAL)
        await wait_events(agent, "remediation.breaker_opened", 2)
        assert plugin.fixes == 2
        assert (await policies(agent))["heal"]["breaker"] == "open"


async def test_destructive_action_files_one_approval_and_waits(tmp_path):
    plugin = Fixable()
    policy = {"name": "purge", "check": "switchable.switch", "action": "switchable.delete",
              "params": {"target": "cache"}, "cycles": 1, "max_runs_per_hour": 10}
    async with start(tmp_path, plugin, policy) as agent:
        await cycle(agent, plugin, Status.CRITICAL)
        ran = await wait_events(agent, "remediation.ran", 1)
        assert ran[0]["data"]["status"] == "pending_approval"
        requested = await wait_events(agent, "approval.requested", 1)
        assert requested[0]["data"]["requested_by"] == "remediation:purge"
        assert plugin.deleted == []
        # While it waits, later triggers file nothing new.
        await cycle(agent, plugin, Status.CRITICAL)
        skipped = await wait_events(agent, "remediation.skipped", 1)
        assert skipped[0]["data"]["reason"] == "awaiting_approval"
        _, pending = await agent.get("/api/v1/approvals?status=pending")
        assert len(pending["approvals"]) == 1
        approval = ran[0]["data"]["approval"]
        assert (await policies(agent))["purge"]["pending_approval"] == approval
        status, outcome = await agent.post(f"/api/v1/approvals/{approval}/approve")
        assert status == 200 and outcome["status"] == "ok", outcome
        assert plugin.deleted == ["cache"]
        assert {r["outcome"] for r in await audit(agent, "remediation:purge")} == {
            "pending_approval", "ok"}


async def test_reload_applies_changed_policies(tmp_path):
    plugin = Fixable()
    async with start(tmp_path, plugin, {**FIX, "cycles": 5}) as agent:
        assert (await policies(agent))["heal"]["cycles"] == 5
        policy_config(tmp_path / "nebula.toml", [
            {**FIX, "name": "quick", "cycles": 1},
            {**FIX, "name": "off", "enabled": False, "cycles": 1}])
        status, body = await agent.post("/api/v1/reload")
        assert status == 200, body
        now = await policies(agent)
        assert set(now) == {"quick", "off"} and now["off"]["enabled"] is False
        await cycle(agent, plugin, Status.CRITICAL)
        ran = await wait_events(agent, "remediation.ran", 1)
        assert ran[0]["data"]["policy"] == "quick" and plugin.fixes == 1


@pytest.mark.e2e  # the `nebula` command in a subprocess
async def test_unknown_check_or_action_is_an_invalid_policy_not_a_crash(tmp_path, capfd):
    plugin = Fixable()
    policy = {"name": "ghost", "check": "switchable.nope", "action": "docker.restrat"}
    async with start(tmp_path, plugin, policy, FIX) as agent:
        state = await policies(agent)
        assert state["ghost"]["valid"] is False
        assert state["ghost"]["problems"] == [
            "no check named 'switchable.nope' is running",
            "no action named 'docker.restrat' is running"]
        assert state["heal"]["valid"] is True
        code, out, _ = await nebula_async(agent, tmp_path, "remediation", "list", "--json")
        assert code == 0 and not json.loads(out)["policies"][0]["valid"]
        code, out, _ = await nebula_async(agent, tmp_path, "remediation", "list")
        assert "invalid: no check named 'switchable.nope'" in out
        assert "heal" in out and "breaker closed" in out
    logged = capfd.readouterr()
    assert "remediation.invalid" in logged.out + logged.err


def test_bad_policies_name_file_line_and_key(tmp_path):
    path = tmp_path / "nebula.toml"
    path.write_text(
        '[agent]\nport = 0\n\n'
        '[[remediation]]\nname = "a"\ncheck = "switchable.switch"\naction = "switchable.fix"\n'
        'cycles = 0\n\n'
        '[[remediation]]\nname = "a"\ncheck = "nodot"\naction = "switchable.fix"\n'
        'max_run_per_hour = 2\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    lines = sorted(str(p) for p in caught.value.problems)
    assert lines == sorted([
        f"{path}:8: remediation.0.cycles: 0 is less than the minimum of 1",
        f"{path}:11: remediation.1.name: policy name 'a' is already used by remediation.0",
        f"{path}:12: remediation.1.check: 'nodot' does not match "
        "'^[A-Za-z0-9_-]+\\\\.[a-z][a-z0-9_]*$'",
        f"{path}:14: remediation.1.max_run_per_hour: unknown key 'max_run_per_hour'; "
        "did you mean 'max_runs_per_hour'?",
    ]), lines
    path.write_text('[remediation]\nname = "a"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (f"{path}:1: remediation: must be an array of tables, one "
                                 "[[remediation]] per policy")


async def test_viewers_read_policies_and_only_admins_reset(tmp_path):
    async with start(tmp_path, Fixable(), FIX) as agent:
        _, viewer = await agent.post("/api/v1/tokens", {"name": "ro", "role": "viewer"})
        status, body = await agent.get("/api/v1/remediation", token=viewer["token"])
        assert status == 200 and [p["name"] for p in body["policies"]] == ["heal"]
        status, _ = await agent.post("/api/v1/remediation/heal/reset", token=viewer["token"])
        assert status == 403
        status, body = await agent.post("/api/v1/remediation/nope/reset")
        assert status == 404 and body["known"] == ["heal"]
        _, doc = await agent.get("/api/v1/openapi.json")
        assert {"/api/v1/remediation", "/api/v1/remediation/{name}/reset"} <= set(doc["paths"])
