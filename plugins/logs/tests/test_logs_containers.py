"""Containers' logs through the Docker API of a real (Podman) engine: running containers'
stdout and stderr, a container started later (events), and a restart of the plugin that
stores nothing twice."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import PLUGINS
from nebula_logs.containers import Demux
from tests.engines import podman_fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

podman = podman_fixtures.podman
client = podman_fixtures.client
run_container = podman_fixtures.run_container


async def lines_of(agent: Any, container: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        status, body = await agent.get("/api/v1/logs?source=containers&limit=500")
        assert status == 200, body
        mine = [line for line in body["lines"] if line["unit"] == container]
        return mine if len(mine) >= count else None
    return list(reversed(await eventually(enough, timeout=30)))


async def test_container_logs_follow_new_containers_and_resume(
        nebula_agent: Any, podman: Any, run_container: Any, tmp_path: Path) -> None:
    first = run_container(["sh", "-c", "echo 'INFO one up'; echo 'ERROR one broke' >&2; "
                                       "sleep 1000"])
    config = {"logs": {"containers": {"enabled": True, "base_url": podman.base_url}}}
    async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
        got = await lines_of(agent, first.name, 2)
        assert {(line["message"], line["host"], line["level_name"]) for line in got} == {
            ("INFO one up", "", "info"), ("ERROR one broke", "stderr", "err")}
        # A container started now is found through the engine's events.
        second = run_container(["sh", "-c", "for i in 1 2 3; do echo line $i; done; "
                                            "sleep 1000"])
        got = await lines_of(agent, second.name, 3)
        assert [line["message"] for line in got] == ["line 1", "line 2", "line 3"]
        # One container's lines, by its name (the ticket bot's, say: unit=discordbot*).
        _, body = await agent.get(f"/api/v1/logs?unit={second.name}&level=err")
        assert [line["message"] for line in body["lines"]] == []
        _, body = await agent.get(f"/api/v1/logs?unit={first.name[:-1]}*&level=err")
        assert [line["message"] for line in body["lines"]] == ["ERROR one broke"]
        _, body = await agent.get("/api/v1/logs/sources")
        state = next(s for s in body["sources"] if s["kind"] == "docker")
        assert state["state"] == "running" and {first.name, second.name} <= set(state["files"])

        # The plugin restarts: what it stored is not stored again, what came since is.
        running = agent.agent.config
        off = {**running.plugins["logs"], "enabled": False}
        await agent.agent.reload(replace(running, plugins={**running.plugins, "logs": off}))
        second.exec_run(["sh", "-c", "echo after restart > /proc/1/fd/1"])
        await agent.agent.reload(running)
        assert (await agent.plugin("logs"))["state"] == "loaded"
        got = await lines_of(agent, second.name, 4)
        assert [line["message"] for line in got] == ["line 1", "line 2", "line 3",
                                                     "after restart"]
        got = await lines_of(agent, first.name, 2)
        assert len(got) == 2


def frame(kind: int, data: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + struct.pack(">I", len(data)) + data


def test_the_multiplexed_stream_cut_anywhere_gives_whole_lines() -> None:
    stream = (frame(1, b"T1 hello\nT2 par") + frame(2, b"T1 oops\n") + frame(1, b"tial\n"))
    demux = Demux(framed=True)
    got = [line for i in range(len(stream)) for line in demux.feed(stream[i:i + 1])]
    assert got == [(False, b"T1 hello"), (True, b"T1 oops"), (False, b"T2 partial")]
    # Megabytes without a newline are let out (and cut by the store), not held forever.
    huge = demux.feed(frame(1, b"x" * (2 << 20)))
    assert len(huge) == 1 and demux.pending[1] == b""
    assert Demux(framed=False).feed(b"tty line\r\nrest") == [(False, b"tty line")]
