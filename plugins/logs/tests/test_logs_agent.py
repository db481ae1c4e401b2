"""The plugin in a real agent: files and a syslog receiver fed by the real `logger`,
searched through the API (cursor pages, context, histogram, 422s), followed by the long-poll
tail and the WebSocket (redacted), alert rules as checks, Jarvis's tools."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import PLUGINS, free_port, messages
from nebula.api import Action, Manifest, PluginContext, hookimpl
from tests.waiting import eventually

pytestmark = pytest.mark.e2e  # runs the real `logger`

SECRET = "hunter2-very-secret-token"


def config(tmp: Path, **extra: Any) -> dict[str, Any]:
    return {"logs": {"files": [{"name": "app", "path": str(tmp / "app.log")}],
                     "poll_interval": 0.02, **extra}}


def append(path: Path, *lines: str) -> None:
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)


async def found(agent: Any, query: str, count: int) -> dict[str, Any]:
    async def enough() -> dict[str, Any] | None:
        status, body = await agent.get(f"/api/v1/logs?{query}")
        assert status == 200, body
        return body if len(body["lines"]) >= count else None
    return await eventually(enough, timeout=15)


async def test_search_pages_context_histogram_and_bad_input(nebula_agent: Any,
                                                            tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, *(f"request {i} ok" for i in range(7)), "ERROR db connection refused",
           '{"level":"warn","msg":"slow query"}', "request 7 ok")
    async with nebula_agent(PLUGINS, config=config(tmp_path), schedule=False) as agent:
        assert (await agent.plugin("logs"))["state"] == "loaded"
        body = await found(agent, "q=request&limit=3", 3)
        assert messages(body) == ["request 7 ok", "request 6 ok", "request 5 ok"]
        assert body["lines"][0]["highlights"] == [[0, 7]]
        seen = messages(body)
        while body["next_cursor"]:
            status, body = await agent.get(f"/api/v1/logs?q=request&limit=3&cursor="
                                           f"{body['next_cursor']}")
            seen += messages(body)
        assert seen == [f"request {i} ok" for i in range(7, -1, -1)]  # every hit once

        status, body = await agent.get("/api/v1/logs?level=warning")
        assert messages(body) == ['{"level":"warn","msg":"slow query"}',
                                  "ERROR db connection refused"]
        status, body = await agent.get("/api/v1/logs?q=refused&context=2")
        hit = body["lines"][0]
        assert [n["message"] for n in hit["before"]] == ["request 5 ok", "request 6 ok"]
        assert hit["after"][0]["message"] == '{"level":"warn","msg":"slow query"}'
        status, body = await agent.get(f"/api/v1/logs/context/{hit['id']}?lines=1")
        assert status == 200 and body["line"]["message"] == "ERROR db connection refused"

        status, body = await agent.get("/api/v1/logs/histogram?q=request&since=1h&buckets=6")
        assert status == 200 and sum(b["count"] for b in body["buckets"]) == 8
        assert body["buckets"][-1]["count"] == 8

        for bad in ("q=%22open", "since=someday", "level=loud", "limit=0", "cursor=x"):
            status, body = await agent.get(f"/api/v1/logs?{bad}")
            assert status == 422, (bad, status, body)
            assert body["detail"]
        status, body = await agent.get("/api/v1/logs/context/999999")
        assert status == 404
        # Punctuation FTS5 cannot read is searched as the phrase it looks like.
        status, body = await agent.get("/api/v1/logs?q=db-connection")
        assert status == 200 and body["query"] == '"db-connection"'


@pytest.mark.parametrize("transport", [["--udp", "--rfc5424"], ["--tcp", "--rfc3164"],
                                       ["--tcp", "--octet-count", "--rfc5424"]],
                         ids=["udp-5424", "tcp-3164", "tcp-octets-5424"])
async def test_syslog_from_the_real_logger(nebula_agent: Any, tmp_path: Path,
                                           transport: list[str]) -> None:
    port = free_port()
    syslog = {"enabled": True, "udp_port": port, "tcp_port": port}
    async with nebula_agent(PLUGINS, config=config(tmp_path, syslog=syslog),
                            schedule=False) as agent:
        sent = await asyncio.create_subprocess_exec(
            "logger", "--server", "127.0.0.1", "--port", str(port), *transport,
            "-t", "ticketbot", "-p", "daemon.err", "-i", "payment webhook failed")
        assert await asyncio.wait_for(sent.wait(), 10) == 0
        body = await found(agent, "q=payment&source=syslog", 1)
        line = body["lines"][0]
        assert line["message"] == "payment webhook failed"
        assert line["unit"] == "ticketbot" and line["level_name"] == "err"
        _, body = await agent.get("/api/v1/logs/sources")
        syslog_state = next(s for s in body["sources"] if s["kind"] == "syslog")
        assert syslog_state["state"] == "running" and syslog_state["lines"] == 1


async def test_tail_long_poll_and_websocket_are_redacted(nebula_agent: Any,
                                                         tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    async with nebula_agent(PLUGINS, config=config(tmp_path), schedule=False) as agent:
        agent.agent.manager.runtime("logs").ctx.add_secret(SECRET)
        status, start = await agent.get("/api/v1/logs/tail")
        poll = asyncio.ensure_future(agent.get(
            f"/api/v1/logs/tail?after={start['last_id']}&wait=20&q=token"))
        headers = {"Authorization": f"Bearer {agent.token}"}
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"{agent.url}/plugins/logs/tail?q=token", headers=headers) as ws:
            append(log, "unrelated line", f"login with token={SECRET} ok")
            message = await asyncio.wait_for(ws.receive(), 15)
            line = json.loads(message.data)
            assert SECRET not in message.data and "token=" in line["message"]
            status, body = await poll
            assert status == 200 and messages(body) == [line["message"]]
            assert SECRET not in json.dumps(body)
            # paused, nothing comes; resumed, what came meanwhile arrives
            await ws.send_json({"pause": True})
            assert json.loads((await asyncio.wait_for(ws.receive(), 15)).data) == {
                "control": "paused"}
            append(log, "token while paused")
            await found(agent, "q=paused", 1)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.receive(), 0.5)
            await ws.send_json({"pause": False})
            assert json.loads((await asyncio.wait_for(ws.receive(), 15)).data) == {
                "control": "following"}
            resumed = json.loads((await asyncio.wait_for(ws.receive(), 15)).data)
            assert resumed["message"] == "token while paused"
        status, body = await agent.get("/api/v1/logs?q=login")
        assert SECRET not in json.dumps(body)


async def test_a_rule_becomes_a_check_with_the_lines_as_evidence(nebula_agent: Any,
                                                                 tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    rules = [{"name": "oom", "pattern": '"out of memory"', "count": 2, "window": 600,
              "status": "critical"}]
    async with nebula_agent(PLUGINS, config=config(tmp_path, rules=rules),
                            schedule=False) as agent:
        check = await agent.run_check("logs.oom")
        assert check["last_status"] == "ok"
        append(log, "worker 1: out of memory, killed", "fine", "worker 2: out of memory")
        await found(agent, "q=memory", 2)
        check = await agent.run_check("logs.oom")
        assert check["last_status"] == "critical"
        assert "worker 2: out of memory" in check["summary"]
        assert "worker 1: out of memory, killed" in check["summary"]
        ingest = await agent.run_check("logs.ingest")
        assert ingest["last_status"] == "ok" and ingest["metrics"]["committed"] == 3
        store = await agent.panel("logs.store")
        assert store["lines"] == 3 and store["refused"] == 0 and store["queued"] == 0
        sources = await agent.panel("logs.sources")
        assert [(s["name"], s["state"], s["lines"]) for s in sources] == [("app", "running", 3)]


async def test_jarvis_tools_search_and_context(nebula_agent: Any, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "ticketbot starting", "ticketbot: Traceback (most recent call last)",
           "ticketbot: KeyError: 'guild'", *(f"noise {i}" for i in range(100)))
    async with nebula_agent(PLUGINS, config=config(tmp_path), schedule=False) as agent:
        await found(agent, "q=noise&limit=200", 100)
        out = await agent.call_tool("logs.search", {"query": "Traceback", "since": "1h"})
        lines = out["result"]["lines"]
        assert [line["message"] for line in lines] == [
            "ticketbot: Traceback (most recent call last)"]
        out = await agent.call_tool("logs.context", {"id": lines[0]["id"], "lines": 1})
        assert out["result"]["after"][0]["message"] == "ticketbot: KeyError: 'guild'"
        out = await agent.call_tool("logs.search", {"query": "noise"})
        assert len(out["result"]["lines"]) == 20  # bounded by default
        out = await agent.call_tool("logs.search", {"query": '"open'})
        assert "FTS5" in out["result"]["error"]


async def test_the_runtime_is_closed_when_the_plugin_stops(nebula_agent: Any,
                                                          tmp_path: Path) -> None:
    (tmp_path / "app.log").touch()
    async with nebula_agent(PLUGINS, config=config(tmp_path), schedule=False) as agent:
        runtime = agent.agent.manager.runtime("logs")
        running = agent.agent.config
        disabled = {**running.plugins["logs"], "enabled": False}
        await agent.agent.reload(replace(running, plugins={**running.plugins, "logs": disabled}))
        assert (await agent.plugin("logs"))["state"] == "disabled"
        assert not runtime.follower._thread.is_alive()  # the files' thread ended
        assert runtime.store._closed and not runtime.store._thread.is_alive()  # the writer
        assert (tmp_path / "data" / "plugins" / "logs" / "logs.db").stat().st_mode & 0o077 == 0


class Chatty:
    """Another plugin that contributes log lines of its own through events."""

    manifest = Manifest(api_version="1.2", description="emits log lines")

    @hookimpl
    def nebula_actions(self, ctx: PluginContext) -> list[Action]:
        async def say(params: Any) -> dict[str, Any]:
            await ctx.emit("log", {"message": params["message"], "level": "warning",
                                   "unit": "worker"})
            return {}
        return [Action("say", say, params={"type": "object",
                                           "properties": {"message": {"type": "string"}}})]


async def test_a_plugin_contributes_lines_with_log_events(nebula_agent: Any,
                                                         tmp_path: Path) -> None:
    (tmp_path / "app.log").touch()
    plugins = {**PLUGINS, "chatty": Chatty()}
    async with nebula_agent(plugins, config={**config(tmp_path), "chatty": {}},
                            schedule=False) as agent:
        await agent.run_action("chatty.say", {"message": "queue is backing up"})
        body = await found(agent, "source=chatty", 1)
        line = body["lines"][0]
        assert (line["message"], line["level_name"], line["unit"]) == (
            "queue is backing up", "warning", "worker")
