"""Containers against a real Podman engine: the table, live state from the event stream,
the expected/exited/restart-loop checks and per-container stats."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from docker_agent import PLUGIN, docker_config, nano, panel, row_of, run_check

from nebula_docker.coordinator import Monitor
from nebula_docker.engine import Engine
from tests.waiting import eventually

COMPOSE = {"com.docker.compose.project": "web", "com.docker.compose.service": "front"}


async def test_the_table_shows_compose_ports_health_and_usage(nebula_agent, podman, client,
                                                              run_container) -> None:
    httpd = run_container(["httpd", "-f", "-p", "8080"], labels=COMPOSE,
                          ports={"8080/tcp": ("127.0.0.1", None)},
                          healthcheck={"test": ["CMD", "true"], "interval": nano(3600)})
    httpd.reload()
    port = httpd.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        row = await row_of(agent, httpd.name)
        assert row["project"] == "web" and row["service"] == "front"
        assert row["image"] == "localhost/busybox:test"
        assert row["state"] == "running" and row["health"] == "starting"
        assert row["ports"] == [f"127.0.0.1:{port}->8080/tcp"]
        assert row["restart_count"] == 0 and 0 <= row["uptime"] < 60
        assert row["memory_bytes"] > 0
        # The published port really serves: the table describes a live container.
        async with agent.session.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 404  # busybox httpd, with nothing to serve
            assert "404" in await resp.text()
        usage = await panel(agent, "usage")
        assert usage and usage[-1]["memory_bytes"] > 0 and usage[-1]["t"] > 0


async def test_cpu_is_measured_between_readings(nebula_agent, podman, run_container):
    busy = run_container(["sh", "-c", "while true; do :; done"])
    async with nebula_agent(PLUGIN, config=docker_config(podman, interval=0.2)) as agent:
        await row_of(agent, busy.name, state="running")

        async def measured():
            row = await row_of(agent, busy.name)
            return row if row["cpu_percent"] is not None else None

        row = await eventually(measured, timeout=10, interval=0.15)
        # A busy loop keeps up to one core busy (a loaded CI machine gives it less; an
        # idle container would show about 0).
        assert 5 <= row["cpu_percent"] <= 110, row
        status, body = await agent.get(f"/plugins/docker/containers/{busy.name}/stats")
        assert status == 200 and len(body["points"]) >= 2
        assert all(p["memory_bytes"] > 0 for p in body["points"])
        status, body = await agent.get("/plugins/docker/containers/nosuch/stats")
        assert status == 404


async def test_events_keep_the_state_live_and_are_published(nebula_agent, podman, client,
                                                            run_container) -> None:
    sleeper = run_container(["sleep", "1000"])
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        await row_of(agent, sleeper.name, state="running")
        headers = {"Authorization": f"Bearer {agent.token}"}
        async with agent.session.ws_connect(
                f"{agent.url}/api/v1/events?topic=docker.container.*",
                headers=headers) as ws:
            # Stopped behind the agent's back: only the event stream can tell it, since
            # the snapshot is cached for half an hour (interval 3600).
            await asyncio.to_thread(sleeper.stop, timeout=0)
            seen = []
            while not any(e["topic"] == "docker.container.die" for e in seen):
                msg = await asyncio.wait_for(ws.receive(), 10)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                event = json.loads(msg.data)
                if event["data"].get("name") == sleeper.name:
                    seen.append(event)
            die = next(e for e in seen if e["topic"] == "docker.container.die")
            assert die["source"] == "docker" and die["data"]["state"] == "exited"
            await row_of(agent, sleeper.name, state="exited")
            # Podman says `remove` where Docker says `destroy`: one topic for both.
            await asyncio.to_thread(sleeper.remove)
            while True:
                event = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                if event["topic"] == "docker.container.destroy":
                    break
            assert event["data"] == {"id": sleeper.id, "name": sleeper.name,
                                     "state": "removed"}
        rows = await panel(agent, "containers")
        assert sleeper.name not in {r["name"] for r in rows}


async def test_a_listing_never_puts_back_the_state_from_before_an_event(
        podman, run_container) -> None:
    """An event's re-inspect and a full listing overlap: the listing began after the event
    came (so it counts as seen) but before its re-inspect answered, and reads the container
    as it was before; when it ends, the event's answer stays. (It did not: the panel kept
    "health starting" until the next event, and the expected check failed now and then.)"""
    watched = run_container(["sleep", "1000"], healthcheck={
        "test": ["CMD", "true"], "interval": nano(3600)})
    run_container(["sleep", "1000"])  # a listing with more than one container to read
    engine = Engine(podman.base_url)

    async def emit(topic: str, data: dict) -> None:
        pass

    monitor = Monitor(engine, emit, max_age=3600, history=10)
    try:
        monitor.events_connected = True  # as while the stream runs: known states are kept
        assert (await monitor.refresh()).find(watched.name).health == "starting"
        await asyncio.to_thread(podman.podman, "healthcheck", "run", watched.id)
        handled = asyncio.create_task(monitor.on_event(
            {"Type": "container", "Action": "health_status", "Actor": {"ID": watched.id}}))
        await asyncio.sleep(0)  # the event is counted; its re-inspect is under way
        listing = asyncio.create_task(monitor.refresh())
        await handled
        await listing
        assert (await monitor.snapshot()).find(watched.name).health == "healthy"
    finally:
        await monitor.aclose()
        engine.close()


async def test_expected_containers_must_run_and_be_healthy(nebula_agent, podman, client,
                                                           run_container) -> None:
    # Podman runs no healthchecks by itself (no systemd timers): the test runs them the way
    # a timer would, with `podman healthcheck run`. Docker runs them on its own.
    healthy = run_container(["sleep", "1000"],
                            healthcheck={"test": ["CMD", "true"], "interval": nano(3600)})
    sick = run_container(["sleep", "1000"], healthcheck={
        "test": ["CMD", "false"], "interval": nano(3600), "retries": 2})
    stopped = run_container(["true"])
    stopped.wait(timeout=10)
    config = docker_config(podman, expected=[healthy.name], interval=0.5)
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "expected")
        assert result["last_status"] == "warning"
        assert result["summary"] == f"{healthy.name} health starting"

        podman.podman("healthcheck", "run", healthy.id)
        await row_of(agent, healthy.name, health="healthy")  # via the health_status event
        result = await run_check(agent, "expected")
        assert result["last_status"] == "ok", result
        assert result["summary"] == "All 1 expected containers running and healthy"

    for _ in range(2):
        podman.podman("healthcheck", "run", sick.id, check=False)
    config = docker_config(podman, expected=[healthy.name, sick.name, stopped.name, "ghost",
                                             "web/front"])
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "expected")
        assert result["last_status"] == "critical"
        for part in (f"{sick.name} unhealthy", f"{stopped.name} exited (exit 0)",
                     "ghost missing", "web/front missing"):
            assert part in result["summary"], result["summary"]
        assert healthy.name not in result["summary"]
        assert result["metrics"]["expected.problems"] == 4


async def test_a_compose_service_can_be_expected(nebula_agent, podman, run_container):
    run_container(["sleep", "1000"], labels=COMPOSE)
    config = docker_config(podman, expected=["web/front"])
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        assert (await run_check(agent, "expected"))["last_status"] == "ok"


async def test_non_zero_exits_are_reported_unless_ignored(nebula_agent, podman,
                                                          run_container) -> None:
    failed = run_container(["sh", "-c", "exit 7"])
    fine = run_container(["true"])
    failed.wait(timeout=10)
    fine.wait(timeout=10)
    async with nebula_agent(PLUGIN, config=docker_config(podman),
                            agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "exited")
        assert result["last_status"] == "warning"
        assert f"{failed.name} (exit 7)" in result["summary"]
        assert fine.name not in result["summary"]
    config = docker_config(podman, ignore_exited=[f"{run_container.prefix}-*"])
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "exited")
        assert failed.name not in result["summary"]


async def test_a_restart_loop_is_critical(nebula_agent, podman, run_container) -> None:
    config = docker_config(podman, restart_loop_count=3, restart_loop_minutes=5)
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        await eventually(lambda: _events_connected(agent), timeout=10)
        assert (await run_check(agent, "restarts"))["last_status"] == "ok"
        looping = run_container(["sh", "-c", "sleep 0.2; exit 3"], restart_policy={
            "Name": "on-failure", "MaximumRetryCount": 4})

        async def looping_seen():
            result = await run_check(agent, "restarts")
            return result if result["last_status"] == "critical" else None

        result = await eventually(looping_seen, timeout=20, interval=0.2)
        assert result["summary"].startswith(f"Restart loop: {looping.name} (")
        assert "restarts in 5 min)" in result["summary"]
        assert result["metrics"]["restarts.looping"] == 1


async def _events_connected(agent) -> bool:
    result = await run_check(agent, "engine")
    return result["last_status"] == "ok" and "events streaming" in result["summary"]
