"""Container and database actions are bound, when requested, to the container id (and
volume) the name resolved to on a real Podman engine: an approval acts on that and nothing
else, and a request naming nothing that exists is refused at once."""

from __future__ import annotations

from docker_agent import PLUGIN, docker_config, panel, run_action


async def _request(agent, action: str, params: dict) -> dict:
    status, body = await run_action(agent, action, params)
    assert status == 202 and body["status"] == "pending_approval", body
    return body["approval"]


async def _approve(agent, approval: dict) -> dict:
    status, outcome = await agent.post(f"/api/v1/approvals/{approval['id']}/approve")
    # The API's statuses for a run that finished: 200 ok, 502 failed.
    assert status == (200 if outcome["status"] == "ok" else 502), (status, outcome)
    return outcome


async def test_an_approval_never_reaches_a_container_recreated_under_the_name(
        nebula_agent, podman, client, run_container) -> None:
    first = run_container(["sleep", "1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        approvals = {verb: await _request(agent, verb, {"container": first.name,
                                                         **extra})
                     for verb, extra in (("stop", {"timeout": 0}), ("restart", {}),
                                         ("remove", {}))}
        for approval in approvals.values():
            assert approval["plan"]["id"] == first.id
            assert approval["plan"]["container"] == first.name
        assert approvals["stop"]["plan"]["timeout"] == 0

        # `compose up --force-recreate`: same name, another container.
        first.remove(force=True)
        second = run_container(["sleep", "1000"], name=first.name)
        for verb, approval in approvals.items():
            outcome = await _approve(agent, approval)
            assert outcome["status"] == "error", (verb, outcome)
            assert (f"container {first.name} was id {first.id[:12]} when this was requested "
                    f"and is id {second.id[:12]} now") in outcome["error"]
        second.reload()
        assert second.status == "running"
        assert client.api.inspect_container(second.id)["RestartCount"] == 0

        # Gone altogether: still refused, naming the id it was bound to.
        approval = await _request(agent, "stop", {"container": second.name})
        second.remove(force=True)
        outcome = await _approve(agent, approval)
        assert outcome["status"] == "error"
        assert f"container {second.name} (id {second.id[:12]}) no longer exists" \
            in outcome["error"]


async def test_a_start_runs_on_the_resolved_id(nebula_agent, podman, run_container) -> None:
    stopped = run_container(["sleep", "1000"])
    stopped.stop(timeout=0)
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        # By a short id: the answer names the container the id resolved to.
        status, body = await run_action(agent, "start", {"container": stopped.id[:12]})
        assert status == 200 and body["status"] == "ok", body
        assert body["result"]["id"] == stopped.id
        assert body["result"]["container"] == stopped.name
        assert body["result"]["state"] == "running"


async def test_a_target_that_does_not_exist_is_a_422_and_nothing_is_filed(
        nebula_agent, podman) -> None:
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        for action, params, path in (
                ("stop", {"container": "nosuch; rm -rf /"}, "container"),
                ("remove", {"container": "../../volumes/x"}, "container"),
                ("stop", {"container": "nosuch"}, "container"),
                ("restart", {"container": "nosuch"}, "container"),
                ("remove", {"container": "nosuch"}, "container"),
                ("start", {"container": "nosuch"}, "container"),
                ("delete_database", {"name": "nosuch"}, "name")):
            status, body = await run_action(agent, action, params)
            assert status == 422, (action, params, body)
            assert [e["path"] for e in body["errors"]] == [path], body
        status, body = await agent.get("/api/v1/approvals")
        assert status == 200 and body["approvals"] == []
        _, body = await run_action(agent, "stop", {"container": "nosuch"})
        assert body["errors"][0]["message"] == "no container named or with id 'nosuch'"
        _, body = await run_action(agent, "delete_database", {"name": "nosuch"})
        assert body["errors"][0]["message"] == "no deployment named nosuch"


async def test_a_database_delete_is_bound_to_its_container_and_volume(
        nebula_agent, podman, client, run_container) -> None:
    name = f"{run_container.prefix}-db"
    volume = f"{name}-data"
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "deploy_database",
                                        {"template": "testdb", "name": name, "host_port": 0})
        assert status == 200 and body["status"] == "ok", body
        database = client.containers.get(name)
        approval = await _request(agent, "delete_database", {"name": name})
        assert approval["plan"]["id"] == database.id
        assert approval["plan"]["volume"] == volume

        # The database container was replaced by hand before the approval came.
        database.remove(force=True)
        stranger = run_container(["sleep", "1000"], name=name)
        outcome = await _approve(agent, approval)
        assert outcome["status"] == "error", outcome
        assert (f"container {name} was id {database.id[:12]} when this was requested and "
                f"is id {stranger.id[:12]} now") in outcome["error"]
        # Nothing went: not the stranger, not the data, not the record.
        stranger.reload()
        assert stranger.status == "running"
        assert volume in {v.name for v in client.volumes.list()}
        assert [d["name"] for d in await panel(agent, "databases")] == [name]

        # With the stranger gone, a new request binds to "no container" and removes the
        # volume it saw.
        stranger.remove(force=True)
        approval = await _request(agent, "delete_database", {"name": name})
        assert approval["plan"]["id"] == ""
        outcome = await _approve(agent, approval)
        assert outcome["status"] == "ok", outcome
        assert outcome["result"] == {"name": name, "removed_container": False,
                                     "removed_volume": True, "volume": volume}
        assert volume not in {v.name for v in client.volumes.list()}
        assert await panel(agent, "databases") == []
