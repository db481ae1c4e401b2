"""One-click databases on a real Podman engine: a test template built from the local
busybox image deploys for real; the real templates prove their "image not present" path.
The generated password lives in the secret store and shows up nowhere but the one-time
credentials answer."""

from __future__ import annotations

import asyncio

from docker_agent import (
    PLUGIN,
    approved,
    docker_config,
    dumps,
    panel,
    run_action,
)

from tests.waiting import eventually


async def test_deploy_is_real_idempotent_secret_and_deletable(
        nebula_agent, podman, client, run_container, capfd) -> None:
    name = f"{run_container.prefix}-db"
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "deploy_database",
                                        {"template": "testdb", "name": name, "host_port": 0})
        assert status == 200 and body["status"] == "ok", body
        result = body["result"]
        assert result["host"] == "127.0.0.1" and result["port"] > 0
        # The password is masked in every API answer, this one included.
        assert result["connection_string"] == (
            f"http://tester:***@127.0.0.1:{result['port']}/main")

        container = client.containers.get(name)
        attrs = container.attrs
        env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
        password = env["DB_PASSWORD"]
        assert len(password) >= 24 and env["DB_USER"] == "tester"
        assert attrs["State"]["Status"] == "running"
        assert attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]
        assert attrs["NetworkSettings"]["Ports"]["8080/tcp"] == [
            {"HostIp": "127.0.0.1", "HostPort": str(result["port"])}]
        mount = next(m for m in attrs["Mounts"] if m["Destination"] == "/data")
        assert mount["Name"] == f"{name}-data" == result["volume"]
        assert client.volumes.get(f"{name}-data").attrs["Labels"][
            "nebula.docker.deployment"] == name

        # Shown once, in clear, to an admin; then never again.
        status, creds = await agent.post(f"/plugins/docker/databases/{name}/credentials")
        assert status == 200, creds
        assert creds["connection_string"] == (
            f"http://tester:{password}@127.0.0.1:{result['port']}/main")
        status, again = await agent.post(f"/plugins/docker/databases/{name}/credentials")
        assert status == 409 and "already shown once" in again["detail"]

        # The database's own output passes through the plugin's routes masked (once it
        # printed it: the deployment answers when the container started, not when its
        # first line is out).
        async def printed() -> bool:
            _, text = await agent.get(f"/plugins/docker/containers/{name}/logs?tail=5")
            return text != "\n"

        await eventually(printed, timeout=10, interval=0.05)
        for query in ("tail=5", "tail=5&follow=1"):
            async with agent.session.get(
                    f"{agent.url}/plugins/docker/containers/{name}/logs?{query}",
                    headers={"Authorization": f"Bearer {agent.token}"}) as resp:
                line = await asyncio.wait_for(resp.content.readline(), 10)
                assert line == b"started with ***\n", line
        _, body = await run_action(agent, "logs", {"container": name})
        assert body["result"]["lines"] == ["started with ***"]

        # A second deployment of the same name changes nothing.
        status, body = await run_action(agent, "deploy_database",
                                        {"template": "testdb", "name": name})
        assert body["status"] == "error" and "already deployed" in body["error"]
        assert len([c for c in client.containers.list(all=True) if c.name == name]) == 1
        assert [d["name"] for d in await panel(agent, "databases")] == [name]

        # A prune never takes a database (or its volume), stopped or not.
        container.stop(timeout=0)
        preview = (await run_action(agent, "prune_preview"))[1]["result"]
        assert name not in dumps(preview["would_remove"])
        container.start()

        # The password appears in no log line, audit row, event or approval.
        _, audit = await agent.get("/api/v1/audit")
        _, events = await agent.get("/api/v1/events?limit=200")
        outcome = await approved(agent, "delete_database", {"name": name})
        assert outcome["status"] == "ok", outcome
        assert outcome["result"] == {"name": name, "removed_container": True,
                                     "removed_volume": True, "volume": f"{name}-data"}
        _, approvals = await agent.get("/api/v1/approvals")
        out, err = capfd.readouterr()
        assert "docker.database_deployed" in out + err  # the logs were captured
        assert password not in dumps(out, err, audit, events, approvals, body, result)

    assert name not in {c.name for c in client.containers.list(all=True)}
    assert f"{name}-data" not in {v.name for v in client.volumes.list()}


async def test_a_name_taken_by_another_container_is_refused(nebula_agent, podman, client,
                                                            run_container) -> None:
    other = run_container(["sleep", "1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        _, body = await run_action(agent, "deploy_database",
                                   {"template": "testdb", "name": other.name})
        assert body["status"] == "error"
        assert f"a container named {other.name} already exists (another container)" \
            in body["error"]
        assert f"{other.name}-data" not in {v.name for v in client.volumes.list()}
        # Nothing stored either: the name is free once the other container goes.
        assert await panel(agent, "databases") == []


async def test_real_templates_name_the_missing_image(nebula_agent, podman, client) -> None:
    before = {c.name for c in client.containers.list(all=True)}
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        for template, image in (("postgres", "postgres:16"), ("mariadb", "mariadb:11"),
                                ("redis", "redis:7"), ("mongo", "mongo:7")):
            _, body = await run_action(agent, "deploy_database",
                                       {"template": template, "name": f"x{template}"})
            assert body["status"] == "error"
            # The engine's own command (issue 15: it said `docker pull` on Podman).
            assert f"image {image} is not present locally; pull it first " \
                   f"(podman pull {image})" in body["error"], body
        _, body = await run_action(agent, "deploy_database",
                                   {"template": "oracle", "name": "x"})
        assert "no template 'oracle'; known: mariadb, mongo, postgres, redis, testdb" \
            in body["error"]
        assert await panel(agent, "databases") == []
    assert {c.name for c in client.containers.list(all=True)} == before


async def test_the_connection_string_is_revealed_once_to_an_admin_only(
        nebula_agent, podman, client, run_container) -> None:
    name = f"{run_container.prefix}-db"
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "deploy_database",
                                        {"template": "testdb", "name": name, "host_port": 0})
        assert status == 200 and body["status"] == "ok", body
        port = body["result"]["port"]
        env = dict(item.split("=", 1) for item in client.containers.get(name).attrs[
            "Config"]["Env"])
        url = f"/plugins/docker/databases/{name}/credentials"

        status, viewer = await agent.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
        assert status in (200, 201), viewer
        status, refused = await agent.post(url, token=viewer["token"])
        assert status == 403, refused
        assert env["DB_PASSWORD"] not in str(refused)

        # The viewer's attempt did not use up the one showing; the admin's answer is a
        # plain JSON answer (not a stream), in clear, and not to be cached.
        async with agent.session.post(f"{agent.url}{url}", headers={
                "Authorization": f"Bearer {agent.token}"}) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            assert resp.headers["Cache-Control"] == "no-store"
            assert int(resp.headers["Content-Length"]) > 0  # whole, not chunked
            revealed = await resp.json()
        assert revealed == {
            "name": name, "note": "shown once; the agent will not show it again",
            "connection_string": f"http://tester:{env['DB_PASSWORD']}@127.0.0.1:{port}/main"}
        status, again = await agent.post(url)
        assert status == 409 and "already shown once" in again["detail"]
        await approved(agent, "delete_database", {"name": name})
