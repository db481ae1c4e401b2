"""Actions against a real Podman engine over the agent's HTTP API: approvals for the
destructive ones, logs (tail and live follow), prune (dry run and real)."""

from __future__ import annotations

import asyncio
import threading

from docker_agent import (
    PLUGIN,
    approved,
    docker_config,
    of,
    panel,
    published,
    row_of,
    run_action,
    run_check,
)

from tests.waiting import eventually


async def test_restart_waits_for_approval_then_restarts(nebula_agent, podman, client,
                                                        run_container) -> None:
    sleeper = run_container(["sleep", "1000"])
    started = client.api.inspect_container(sleeper.id)["State"]["StartedAt"]
    config = docker_config(podman, restart_loop_count=1)
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        status, body = await run_action(agent, "restart",
                                        {"container": sleeper.name, "timeout": 0})
        assert status == 202 and body["status"] == "pending_approval"
        # Nothing happened yet: only an admin's approval runs it.
        assert client.api.inspect_container(sleeper.id)["State"]["StartedAt"] == started
        async with published(agent, "docker.container.start") as events:
            status, outcome = await agent.post(
                f"/api/v1/approvals/{body['approval']['id']}/approve")
            assert status == 200 and outcome["status"] == "ok", outcome
            assert outcome["result"]["state"] == "running"
            assert client.api.inspect_container(sleeper.id)["State"]["StartedAt"] != started
            # The restart came back on the event stream (die, then start) ...
            await eventually(lambda: of(events, "docker.container.start", sleeper.name),
                             timeout=10)
        # ... and an admin's restart is no restart loop (issue 15), even at
        # restart_loop_count 1: only the restart policy's restarts count.
        result = await run_check(agent, "restarts")
        assert result["last_status"] == "ok" and result["metrics"]["restarts.max"] == 0


async def test_stop_needs_approval_start_does_not(nebula_agent, podman, client,
                                                  run_container) -> None:
    sleeper = run_container(["sleep", "1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        outcome = await approved(agent, "stop", {"container": sleeper.name, "timeout": 0})
        assert outcome["result"]["state"] == "exited"
        await row_of(agent, sleeper.name, state="exited")
        status, body = await run_action(agent, "start", {"container": sleeper.name})
        assert status == 200 and body["result"]["state"] == "running", body
        await row_of(agent, sleeper.name, state="running")
        status, body = await run_action(agent, "start", {"container": "no-such-thing"})
        assert status == 422, body
        assert body["errors"] == [{"path": "container", "message":
                                   "no container named or with id 'no-such-thing'"}]
        status, body = await agent.get("/api/v1/actions")
        destructive = {a["name"]: a["destructive"] for a in body["actions"]
                       if a["plugin"] == "docker"}
        assert destructive == {
            "docker.start": False, "docker.stop": True, "docker.restart": True,
            "docker.remove": True, "docker.logs": False, "docker.inspect": False,
            "docker.resources": False, "docker.prune_preview": False,
            "docker.prune": True, "docker.deploy_database": False,
            "docker.delete_database": True}


async def test_remove_is_approved_then_the_container_is_gone(nebula_agent, podman, client,
                                                             run_container) -> None:
    sleeper = run_container(["sleep", "1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        await row_of(agent, sleeper.name)
        outcome = await approved(agent, "remove", {"container": sleeper.name})
        assert outcome["result"]["state"] == "removed"
        assert sleeper.name not in {c.name for c in client.containers.list(all=True)}

        async def gone():
            return all(r["name"] != sleeper.name for r in await panel(agent, "containers"))

        await eventually(gone, timeout=10)


async def test_logs_tail_is_bounded_in_lines_and_bytes(nebula_agent, podman,
                                                       run_container) -> None:
    chatty = run_container(["sh", "-c", "seq 1 2000; sleep 1000"])
    config = docker_config(podman, logs_max_bytes=1024)
    async with nebula_agent(PLUGIN, config=config) as agent:
        async def last_line():
            _, body = await run_action(agent, "logs", {"container": chatty.name, "tail": 5})
            return body if body["result"]["lines"][-1:] == ["2000"] else None

        body = await eventually(last_line, timeout=10)
        assert body["result"]["lines"] == ["1996", "1997", "1998", "1999", "2000"]
        assert body["result"]["truncated"] is False
        _, body = await run_action(agent, "logs", {"container": chatty.name, "tail": 2000})
        lines = body["result"]["lines"]
        assert body["result"]["truncated"] is True
        assert sum(len(x) + 1 for x in lines) <= 1024 and lines[-1] == "2000"
        assert lines[0] == str(2001 - len(lines))  # cut on a line boundary
        status, text = await agent.get(f"/plugins/docker/containers/{chatty.name}/logs?tail=3")
        assert status == 200 and text == "1998\n1999\n2000\n"
        # The route says when it cut the answer to logs_max_bytes, as the action does.
        async with agent.session.get(
                f"{agent.url}/plugins/docker/containers/{chatty.name}/logs?tail=2000",
                headers={"Authorization": f"Bearer {agent.token}"}) as resp:
            assert resp.headers["X-Nebula-Truncated"] == \
                "cut to the last 1024 bytes (logs_max_bytes)"
            assert len(await resp.read()) <= 1024


async def test_the_logs_route_refuses_a_negative_tail_and_says_when_it_capped_one(
        nebula_agent, podman, run_container) -> None:
    """Issue 15: `tail=-5` answered an empty 200, and a tail above the cap was cut
    silently."""
    chatty = run_container(["sh", "-c", "seq 1 12000; sleep 1000"])
    config = docker_config(podman, logs_max_bytes=10_000_000)
    async with nebula_agent(PLUGIN, config=config) as agent:
        url = f"{agent.url}/plugins/docker/containers/{chatty.name}/logs"
        headers = {"Authorization": f"Bearer {agent.token}"}
        for bad in ("-5", "ten", "1.5"):
            for follow in ("", "&follow=1"):
                async with agent.session.get(f"{url}?tail={bad}{follow}",
                                             headers=headers) as resp:
                    assert resp.status == 422, (bad, follow, resp.status)
                    assert resp.content_type == "application/problem+json"
                    body = await resp.json(content_type=None)
                    assert body["detail"] == "tail must be a whole number of lines, 0 or more"

        async def all_written() -> bool:
            async with agent.session.get(f"{url}?tail=1", headers=headers) as resp:
                return await resp.text() == "12000\n"

        await eventually(all_written, timeout=20)
        async with agent.session.get(f"{url}?tail=50000", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["X-Nebula-Tail-Capped"] == "10000"
            lines = (await resp.text()).splitlines()
        assert lines[0] == "2001" and lines[-1] == "12000" and len(lines) == 10000
        async with agent.session.get(f"{url}?tail=10000", headers=headers) as resp:
            assert "X-Nebula-Tail-Capped" not in resp.headers
        async with agent.session.get(f"{url}?tail=50000&follow=1", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["X-Nebula-Tail-Capped"] == "10000"
            assert await asyncio.wait_for(resp.content.readline(), 10) == b"2001\n"
        await eventually(lambda: _followers() == 0, timeout=10, interval=0.05)


async def test_logs_follow_streams_new_lines_until_the_client_leaves(
        nebula_agent, podman, run_container) -> None:
    ticker = run_container(["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; "
                                        "sleep 0.1; done"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        headers = {"Authorization": f"Bearer {agent.token}"}
        url = f"{agent.url}/plugins/docker/containers/{ticker.name}/logs?follow=1&tail=1"
        async with agent.session.get(url, headers=headers) as resp:
            assert resp.status == 200
            got: list[str] = []
            while len(got) < 5:
                line = await asyncio.wait_for(resp.content.readline(), 10)
                got.append(line.decode().strip())
            numbers = [int(x.split()[1]) for x in got]
            assert numbers == list(range(numbers[0], numbers[0] + 5))  # live, in order
        # The follow ended with the client; the agent still answers.
        status, _ = await agent.get("/api/v1/plugins")
        assert status == 200


async def test_a_client_leaving_mid_follow_is_no_error(nebula_agent, podman, run_container,
                                                       capfd) -> None:
    """Issue 15: closing a live log follow logged an ERROR with a traceback every time (the
    write of the next chunk found the client gone)."""
    ticker = run_container(["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; "
                                        "sleep 0.05; done"])
    printed: list[str] = []

    def output() -> str:
        out, err = capfd.readouterr()
        printed.append(out + err)
        return "".join(printed)

    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        headers = {"Authorization": f"Bearer {agent.token}"}
        url = f"{agent.url}/plugins/docker/containers/{ticker.name}/logs?follow=1&tail=1"
        for follows in range(1, 4):
            async with agent.session.get(url, headers=headers) as resp:
                await asyncio.wait_for(resp.content.readline(), 10)
                resp.close()  # the browser tab closed, mid-stream

            # The agent notices at its next write (a line every 50 ms): one line for the
            # end of the follow, or (before) the error.
            def noticed(follows: int = follows) -> bool:
                text = output()
                return text.count("docker.logs_follow_ended") == follows \
                    or "http.unhandled" in text

            await eventually(noticed, timeout=10, interval=0.05)
            assert "http.unhandled" not in output()
        # Each follow let go of its engine stream and thread.
        await eventually(lambda: _followers() == 0, timeout=10, interval=0.05)
    text = output()
    assert "Traceback" not in text and "[error" not in text, text


async def test_a_follow_of_a_quiet_container_ends_when_the_client_leaves(
        nebula_agent, podman, run_container) -> None:
    quiet = run_container(["sh", "-c", "echo hello; sleep 1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        headers = {"Authorization": f"Bearer {agent.token}"}
        url = f"{agent.url}/plugins/docker/containers/{quiet.name}/logs?follow=1"
        async with agent.session.get(url, headers=headers) as resp:
            assert await asyncio.wait_for(resp.content.readline(), 10) == b"hello\n"
            assert _followers() == 1
        # Nothing more will ever be printed: the agent notices the client left, and lets
        # go of the engine stream rather than hold it until the agent stops.
        await eventually(lambda: _followers() == 0, timeout=10, interval=0.05)


def _followers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "nebula-docker-logs")


async def test_prune_previews_then_removes_exactly_that(nebula_agent, podman, client,
                                                        run_container) -> None:
    stopped = run_container(["true"])
    stopped.wait(timeout=10)
    running = run_container(["sleep", "1000"])
    volume = client.volumes.create(f"{run_container.prefix}-unused")
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "prune_preview", {"volumes": True})
        assert status == 200 and body["status"] == "ok", body
        preview = body["result"]
        assert preview["dry_run"] is True
        names = {(i["kind"], i["name"]) for i in preview["would_remove"]}
        assert ("container", stopped.name) in names and ("volume", volume.name) in names
        assert ("container", running.name) not in names
        assert preview["reclaimable_bytes"] == sum(i["size"] for i in preview["would_remove"])
        # The preview changed nothing.
        assert stopped.name in {c.name for c in client.containers.list(all=True)}

        outcome = await approved(agent, "prune", {"volumes": True})
        assert outcome["status"] == "ok", outcome
        removed = {(i["kind"], i["name"]) for i in outcome["result"]["removed"]}
        assert removed == names
        assert outcome["result"]["failed"] == {} and outcome["result"]["skipped"] == []
        left = {c.name for c in client.containers.list(all=True)}
        assert stopped.name not in left and running.name in left
        assert volume.name not in {v.name for v in client.volumes.list()}


async def test_disk_use_is_a_panel_and_a_thresholded_check(nebula_agent, podman) -> None:
    async with nebula_agent(PLUGIN, config=docker_config(podman),
                            agent={"flap_threshold": 1}) as agent:
        disk = await panel(agent, "disk")
        assert disk["images"] > 1_000_000 and disk["image_count"] >= 1  # busybox is ~2 MB
        result = await run_check(agent, "disk")
        assert result["last_status"] == "ok"
        assert result["summary"].startswith("Engine disk use 0.00 GB (warning at 50 GB): "
                                            "images 0.00, containers 0.00, volumes 0.00, "
                                            "build cache 0.00, logs 0.00 GB; "), result
        assert result["metrics"]["disk.logs_bytes"] == disk["logs"]
        assert result["metrics"]["disk.images_bytes"] == disk["images"]
    config = docker_config(podman, disk_warning_gb=0.001, disk_critical_gb=1)
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "disk")
        assert result["last_status"] == "warning"
        assert "(warning at 0.001 GB, critical at 1 GB)" in result["summary"]


async def test_inspect_action_reports_state_and_masks_secrets(nebula_agent, podman,
                                                              run_container) -> None:
    # Other plugins (discordbot, streambot) read a container's state through this action.
    sleeper = run_container(["sleep", "1000"], environment={"BOT_TOKEN": "s3cr3t-v4lue"})
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "inspect", {"container": sleeper.name})
        assert status == 200 and body["status"] == "ok", body
        result = body["result"]
        assert result["name"] == sleeper.name and result["state"]["Status"] == "running"
        assert result["restart_count"] == 0 and "BOT_TOKEN=***" in result["env"]
        assert "s3cr3t-v4lue" not in str(body)
        status, body = await run_action(agent, "inspect", {"container": "no-such-thing"})
        assert body["status"] == "error" and "no-such-thing" in body["error"]
