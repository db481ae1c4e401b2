"""Test helpers for Nebula and its plugins' authors (a pytest plugin, loaded automatically).

`run_agent` starts a real agent — store, scheduler, HTTP server on a loopback port — with the
plugins you hand it, and gives you an HTTP client authenticated as an admin:

    async def test_my_check(nebula_agent):
        async with nebula_agent(plugins={"mine": my_plugin}) as agent:
            status, body = await agent.get("/api/v1/checks/mine.disk")
            check = await agent.run_check("mine.disk")    # same, asserting a 200

`installed_plugin(name)` loads a plugin through its installed entry point, so a test can
check the package as the agent will find it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomlkit
from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config, load
from nebula.roles import Principal, Role
from nebula.server import create_app
from nebula.tokens import LOCAL_ADMIN, new_token


def write_config(
    path: Path, agent: Mapping[str, Any] | None = None,
    plugins: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write a nebula.toml; `data_dir` defaults to a folder beside it."""
    doc: dict[str, Any] = {"agent": {"data_dir": str(path.parent / "data"), **(agent or {})}}
    if plugins:
        doc["plugins"] = {name: dict(section) for name, section in plugins.items()}
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


@dataclass
class RunningAgent:
    """A live agent on a loopback port, and an admin client for it."""

    url: str
    token: str
    agent: Agent
    app: web.Application
    session: aiohttp.ClientSession

    async def request(self, method: str, path: str, body: Any = None,
                      token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        async with self.session.request(method, self.url + path, json=body,
                                        headers=headers) as resp:
            if resp.content_type in ("application/json", "application/problem+json"):
                return resp.status, await resp.json(content_type=None)
            return resp.status, await resp.text()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, body if body is not None else {}, **kw)

    # The helpers below go through the HTTP API as the web panel and CLI do, and fail the
    # test with the answer's body when the agent refuses.

    async def plugin(self, name: str) -> dict[str, Any]:
        """`GET /api/v1/plugins/<name>`: state, error, contributions, masked config."""
        return _expect(200, *await self.get(f"/api/v1/plugins/{name}"))

    async def run_check(self, name: str) -> dict[str, Any]:
        """Run one check now; its state (`last_status`, `summary`, `metrics`)."""
        body = _expect(200, *await self.post("/api/v1/checks/run", {"names": [name]}))
        return body["checks"][0]

    async def run_action(self, name: str, params: Mapping[str, Any] | None = None, *,
                         expect: int | None = None) -> dict[str, Any]:
        """Run one action as the admin and wait for its outcome: `{"status": "ok",
        "result"}` (HTTP 200) or `{"status": "error", "error"}` (502) unless `expect` names
        one status; a destructive one answers 202 with `{"status": "pending_approval",
        "approval": {...}}` (pass `expect=202`)."""
        return _expect(expect, *await self.post(f"/api/v1/actions/{name}/run",
                                                {"params": dict(params or {}), "wait": 3600}))

    async def approve(self, approval_id: Any, *, expect: int | None = None) -> dict[str, Any]:
        """Approve as the admin and wait for the outcome (200 ok, 502 failed)."""
        return _expect(expect, *await self.post(f"/api/v1/approvals/{approval_id}/approve",
                                                {"wait": 3600}))

    async def panel(self, name: str) -> Any:
        """A panel's current data."""
        return _expect(200, *await self.get(f"/api/v1/panels/{name}"))["data"]

    async def call_tool(self, name: str, params: Mapping[str, Any] | None = None
                        ) -> dict[str, Any]:
        """Call a Jarvis tool as Jarvis would; the outcome is `{"status": "ok", "result":
        ...}`, or `pending_approval` for a tool backed by a destructive action (approvals
        apply), or `error`. Goes through `POST /api/v1/tools/<name>/run` where the agent
        serves it; otherwise the action API (action-backed tools) or the tool's own `run`
        (read-only tools), after checking `GET /api/v1/tools` lists it."""
        params = dict(params or {})
        if self._serves(TOOL_RUN_ROUTE):
            status, body = await self.post(f"/api/v1/tools/{name}/run", params)
            assert status in (200, 202), (status, body)
            return body
        tools = _expect(200, *await self.get("/api/v1/tools"))["tools"]
        listed = next((t for t in tools if t["name"] == name), None)
        assert listed is not None, f"no tool {name!r}; have {[t['name'] for t in tools]}"
        if listed["action"]:
            status, body = await self.post(f"/api/v1/actions/{listed['action']}/run",
                                           {"params": params})
            assert status in (200, 202, 502), (status, body)
            return body
        tool = self.agent.tools[name]
        assert tool.run is not None
        return {"status": "ok", "result": await tool.run(params)}

    def _serves(self, path: str) -> bool:
        return any(resource.canonical == path for resource in self.app.router.resources())


TOOL_RUN_ROUTE = "/api/v1/tools/{name}/run"


def _expect(status: int | None, got: int, body: Any) -> Any:
    """`status` None: an action's finished run, ok (200) or failed (502)."""
    wanted = (200, 502) if status is None else (status,)
    assert got in wanted, f"expected HTTP {' or '.join(map(str, wanted))}, got {got}: {body}"
    return body


def installed_plugin(name: str) -> Any:
    """The object the installed `nebula.plugins` entry point `name` loads (usually the
    plugin module): hand it to `nebula_agent(plugins={name: installed_plugin(name)})` to
    test the plugin exactly as the agent will find it."""
    from nebula.plugins import ENTRY_POINT_GROUP

    if sys.version_info >= (3, 11):
        from importlib.metadata import entry_points
    else:  # pragma: no cover
        from importlib_metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.load()
    raise LookupError(f"no installed plugin (entry point in {ENTRY_POINT_GROUP!r}) "
                      f"named {name!r}")


@contextlib.asynccontextmanager
async def run_agent(
    config: Config, plugins: Mapping[str, Any] | None = None, *, discover: bool = False,
    schedule: bool = True,
) -> AsyncIterator[RunningAgent]:
    """Start an agent on 127.0.0.1 (random port); stop it cleanly on exit.

    Only the plugins handed in are loaded unless `discover` is true (then installed
    entry points load too)."""
    agent = Agent(config, plugins, discover=discover)
    app = create_app(config, agent=agent, schedule=schedule)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        token = new_token()
        agent.tokens.allow(token, Principal(LOCAL_ADMIN, Role.ADMIN))
        async with aiohttp.ClientSession() as session:
            yield RunningAgent(f"http://{host}:{port}", token, agent, app, session)
    finally:
        await runner.cleanup()


AgentFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningAgent]]


@pytest.fixture
def nebula_agent(tmp_path: Path) -> AgentFactory:
    """`async with nebula_agent(plugins={...}, agent={...}, config={plugin: {...}})`."""

    def factory(plugins: Mapping[str, Any] | None = None, *,
                agent: Mapping[str, Any] | None = None,
                config: Mapping[str, Mapping[str, Any]] | None = None,
                discover: bool = False, schedule: bool = True,
                ) -> contextlib.AbstractAsyncContextManager[RunningAgent]:
        path = write_config(tmp_path / "nebula.toml", agent, config)
        return run_agent(load(path), plugins, discover=discover, schedule=schedule)

    return factory
