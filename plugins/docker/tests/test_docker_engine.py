"""The engine connection: an unreachable engine is one critical check (with the reason)
and nothing more; the plugin reconnects by itself when the engine comes up. Also the
config schema and the Jarvis tools."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest
from docker_agent import PLUGIN, docker_config, published, run_action, run_check

import nebula_docker.plugin
from nebula_docker.events import Unsupported, endpoint
from tests.waiting import eventually


async def test_an_unreachable_engine_is_critical_then_recovers(nebula_agent, podman,
                                                               run_container) -> None:
    socket = podman.dir / "late.sock"
    config = {"docker": {"base_url": f"unix://{socket}", "interval": 0.5}}
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        _, plugins = await agent.get("/api/v1/plugins")
        assert {p["name"]: p["state"] for p in plugins["plugins"]}["docker"] == "loaded"
        result = await run_check(agent, "engine")
        assert result["last_status"] == "critical"
        assert result["summary"] == f"engine at unix://{socket} unreachable: no such file " \
                                    "or directory"
        for check in ("expected", "exited", "restarts", "disk"):
            result = await run_check(agent, check)
            assert result["last_status"] == "unknown"
            assert "unreachable" in result["summary"]
        status, body = await agent.get("/api/v1/panels/docker.containers")
        assert status == 502 and "unreachable" in body["detail"]
        _, body = await run_action(agent, "logs", {"container": "x"})
        assert body["status"] == "error" and "EngineUnavailable: engine at" in body["error"]
        status, _ = await agent.get("/healthz")
        assert status == 200  # the rest of the agent is unaffected

        service = await asyncio.to_thread(podman.serve, socket)
        try:
            sleeper = run_container(["sleep", "1000"])

            async def streaming():
                result = await run_check(agent, "engine")
                return result if "events streaming" in result["summary"] else None

            result = await eventually(streaming, timeout=40, interval=0.2)
            assert result["last_status"] == "ok"
            assert result["summary"].startswith("Podman Engine ")
            _, body = await agent.get("/api/v1/panels/docker.containers")
            assert sleeper.name in {r["name"] for r in body["data"]}
        finally:
            await asyncio.to_thread(podman.stop_service, service)


async def test_the_engine_check_follows_the_event_stream_at_once(nebula_agent,
                                                                  podman) -> None:
    """Issue 15: an engine going down or coming back was noticed only at the next engine
    check, though the event stream drops at once. With an hour between checks and the
    agent's default damping, only the stream can move the check in time."""
    socket = podman.dir / "flaky.sock"
    service = await asyncio.to_thread(podman.serve, socket)
    config = {"docker": {"base_url": f"unix://{socket}", "interval": 3600}}
    try:
        async with nebula_agent(PLUGIN, config=config) as agent:
            async def check_is(status: str) -> dict | None:
                _, body = await agent.get("/api/v1/checks/docker.engine")  # not run here
                return body if body["status"] == status else None

            # The first scheduled run (within 5 s of the start).
            body = await eventually(lambda: check_is("ok"), timeout=15, interval=0.1)
            assert body["summary"].endswith("; events streaming"), body
            async with published(agent, "docker.engine") as events:
                await asyncio.to_thread(podman.stop_service, service)
                await eventually(lambda: events, timeout=10)
                down = events[0]["data"]
                assert down["state"] == "down", down
                assert down["error"].startswith(f"engine at unix://{socket} unreachable: ")
                body = await eventually(lambda: check_is("critical"), timeout=10,
                                        interval=0.05)
                assert "unreachable" in body["summary"], body

                service = await asyncio.to_thread(podman.serve, socket)
                # Reconnected within the stream's backoff (1 s doubling), not an hour.
                await eventually(lambda: len(events) == 2, timeout=20)
                assert events[1]["data"] == {"state": "up", "error": None}
                body = await eventually(lambda: check_is("ok"), timeout=10, interval=0.05)
                assert body["summary"].endswith("; events streaming"), body
    finally:
        await asyncio.to_thread(podman.stop_service, service)


def test_the_schema_has_defaults_and_refuses_unknown_keys() -> None:
    schema = nebula_docker.plugin.manifest.config_schema
    defaults = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    jsonschema.validate(defaults, schema)
    assert defaults["bind_address"] == "127.0.0.1" and defaults["expected"] == []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "expectd": []}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "templates": {"x": {"image": "a"}}}, schema)


async def test_warning_above_critical_fails_the_plugin_with_the_reason(nebula_agent,
                                                                       podman) -> None:
    config = docker_config(podman, disk_warning_gb=10, disk_critical_gb=5)
    async with nebula_agent(PLUGIN, config=config) as agent:
        _, plugins = await agent.get("/api/v1/plugins")
        (docker,) = [p for p in plugins["plugins"] if p["name"] == "docker"]
        assert docker["state"] == "failed"
        assert "disk_warning_gb (10) is above disk_critical_gb (5)" in docker["error"]


async def test_jarvis_tools_read_and_actions_go_through_approval(nebula_agent, podman,
                                                                 run_container) -> None:
    chatty = run_container(["sh", "-c", "seq 1 3; sleep 1000"],
                           environment={"API_TOKEN": "hunter2hunter2", "MODE": "prod"})
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        _, body = await agent.get("/api/v1/tools")
        tools = {t["name"]: t for t in body["tools"] if t["name"].startswith("docker.")}
        read_only = {n for n, t in tools.items() if t["read_only"]}
        assert read_only == {"docker.list_containers", "docker.inspect_container",
                             "docker.container_logs", "docker.container_stats",
                             "docker.docker_disk_usage", "docker.list_databases"}
        assert tools["docker.restart_container"]["action"] == "docker.restart"
        assert tools["docker.container_logs"]["params"]["properties"]["tail"]["maximum"] \
            == 500
        run = {n: agent.agent.tools[n].run for n in read_only}
        listed = await run["docker.list_containers"]({})
        assert chatty.name in {r["name"] for r in listed}
        inspected = await run["docker.inspect_container"]({"container": chatty.name})
        assert "API_TOKEN=***" in inspected["env"] and "MODE=prod" in inspected["env"]
        assert "hunter2hunter2" not in str(inspected)

        async def logged():
            logs = await run["docker.container_logs"]({"container": chatty.name, "tail": 2})
            return logs if logs["lines"] == ["2", "3"] else None

        await eventually(logged, timeout=10)
        with pytest.raises(jsonschema.ValidationError):
            await run["docker.container_logs"]({"container": chatty.name, "tail": 10**6})
        assert (await run["docker.docker_disk_usage"]({}))["images"] > 0


async def test_docker_host_is_used_when_no_base_url_is_set(nebula_agent, podman,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", podman.base_url)
    async with nebula_agent(PLUGIN, config={"docker": {}},
                            agent={"flap_threshold": 1}) as agent:
        result = await run_check(agent, "engine")
        assert result["last_status"] == "ok", result
        assert f"at {podman.base_url};" in result["summary"]


@pytest.mark.parametrize("base_url,url,socket_path", [
    ("unix:///run/podman/podman.sock", "http://engine/events", "/run/podman/podman.sock"),
    ("tcp://10.0.0.5:2375", "http://10.0.0.5:2375/events", None),
    ("tcp://docker.lan", "http://docker.lan:2375/events", None),
    ("tcp://[::1]", "http://[::1]:2375/events", None),
    ("https://docker.lan", "https://docker.lan:2376/events", None),
])
def test_the_event_stream_follows_every_address_the_sdk_takes(base_url, url,
                                                              socket_path) -> None:
    assert endpoint(base_url) == (url, socket_path)


def test_an_address_without_an_event_stream_says_so() -> None:
    with pytest.raises(Unsupported, match=r"no event stream over ssh://"):
        endpoint("ssh://admin@nas")
