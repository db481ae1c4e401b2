"""Test helpers for Nebula and its plugins' authors (a pytest plugin, loaded automatically).

`run_agent` starts a real agent — store, scheduler, HTTP server on a loopback port — with the
plugins you hand it, and gives you an HTTP client authenticated as an admin:

    async def test_my_check(nebula_agent):
        async with nebula_agent(plugins={"mine": my_plugin}) as agent:
            status, body = await agent.get("/api/v1/checks/mine.disk")
"""

from __future__ import annotations

import contextlib
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
from nebula.http.app import create_app
from nebula.tokens import LOCAL_ADMIN, Principal, new_token


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
        agent.tokens.allow(token, Principal(LOCAL_ADMIN, "admin"))
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
