"""How the CLI reaches an agent: the running one, or a one-shot agent in this process.

Either way the CLI speaks the same HTTP API, so every command behaves the same whether an
agent runs or not. The one-shot agent loads the plugins and the store but schedules
nothing, listens on a random loopback port and stops when the command ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

from nebula.config import Config

TIMEOUT = 120.0
# The status of an action's answer when it ran and failed (the body is its outcome).
FAILED_RUN = 502


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        super().__init__(body.get("detail") or body.get("title") or f"HTTP {status}")


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read())
            except ValueError:
                detail = {"title": exc.reason}
            if exc.code == FAILED_RUN and detail.get("status") == "error":
                return detail  # an action that ran and failed: its outcome, not an API error
            raise ApiError(exc.code, detail) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})


class OneShotAgent:
    """An agent started in a background thread for the length of one command."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.client: Client | None = None
        self._thread = threading.Thread(target=self._main, name="nebula-oneshot", daemon=True)

    def __enter__(self) -> Client:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self.client is not None
        return self.client

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from aiohttp import web

        from nebula.agent import Agent
        from nebula.http.app import create_app
        from nebula.runtime import data_dir_lock
        from nebula.tokens import LOCAL_ADMIN, Principal, new_token

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        with data_dir_lock(self.config.data_dir):
            agent = Agent(self.config)
            runner = web.AppRunner(create_app(self.config, agent=agent, schedule=False),
                                   handle_signals=False, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                token = new_token()
                agent.tokens.allow(token, Principal(LOCAL_ADMIN, "admin"))
                host, port = runner.addresses[0][:2]
                self.client = Client(f"http://{host}:{port}", token)
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()


def running_agent(config: Config) -> Client | None:
    """A client for the agent serving this config's data dir, if one is up."""
    if url := os.environ.get("NEBULA_URL"):
        return Client(url, os.environ.get("NEBULA_TOKEN", ""))
    from nebula.runtime import RuntimeInfo

    info = RuntimeInfo.read(config.data_dir)
    if info is None or not _alive(info.pid):
        return None
    client = Client(info.url, info.token)
    try:
        urllib.request.urlopen(f"{info.url}/healthz", timeout=2).close()
    except OSError:
        return None
    return client


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
