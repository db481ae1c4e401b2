"""How the CLI reaches an agent: the running one, or a one-shot agent in this process.

Either way the CLI speaks the same HTTP API, so every command behaves the same whether an
agent runs or not. The one-shot agent loads the plugins and the store but schedules
nothing, listens on a random loopback port and stops when the command ends.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from nebula.config import Config

# Seconds one request may take before the CLI gives up on the agent; NEBULA_TIMEOUT sets
# another. Nothing long rests on one request (an action's run is followed by polling).
TIMEOUT = 120.0
# The status of an action's answer when it ran and failed (the body is its outcome).
FAILED_RUN = 502


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        super().__init__(body.get("detail") or body.get("title") or f"HTTP {status}")


class TransportError(Exception):
    """The agent was not reached, or no whole answer came back. `str()` is the one line
    the user reads; `exit_code` (from sysexits.h) tells a script which of these it was."""

    exit_code = 69


class Unreachable(TransportError):
    """Nothing answered at the address: refused, no such host, no route (EX_UNAVAILABLE)."""

    exit_code = 69


class NoAnswer(TransportError):
    """Connected, or trying to, but no answer within the timeout (EX_TEMPFAIL)."""

    exit_code = 75


class ConnectionLost(TransportError):
    """The connection closed or was reset before a whole answer came, or what came is not
    the API's (EX_PROTOCOL): the agent died mid-request, or NEBULA_URL is something else."""

    exit_code = 76


def request_timeout() -> float:
    """NEBULA_TIMEOUT when set to a positive number of seconds, else TIMEOUT."""
    raw = os.environ.get("NEBULA_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return TIMEOUT
    return value if value > 0 else TIMEOUT


def _cause(exc: BaseException | str) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__  # URLError's reason may be text


def transport_error(exc: BaseException, url: str, timeout: float) -> TransportError:
    """What urllib raised for a request to `url`, as the error the user reads."""
    # urllib wraps what sending the request raised (connecting included) in a URLError.
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return NoAnswer(f"the agent at {url} did not answer within {timeout:g}s "
                        "(NEBULA_TIMEOUT sets how long to wait)")
    if isinstance(reason, http.client.RemoteDisconnected):
        return ConnectionLost(f"the agent at {url} closed the connection without answering "
                              "(did it stop or crash?)")
    if isinstance(reason, ConnectionResetError | BrokenPipeError):
        return ConnectionLost(f"the agent at {url} reset the connection before answering "
                              "(did it stop or crash?)")
    if isinstance(exc, urllib.error.URLError):  # no connection at all
        return Unreachable(f"cannot reach the agent at {url}: {_cause(reason)}; is it "
                           "running (`nebula run`), and is NEBULA_URL right?")
    if isinstance(exc, http.client.IncompleteRead):
        return ConnectionLost(f"the agent at {url} closed the connection halfway through "
                              "its answer (did it stop or crash?)")
    if isinstance(exc, http.client.HTTPException | ValueError):
        return ConnectionLost(f"the answer from {url} is not the agent's API "
                              f"({type(exc).__name__}); is NEBULA_URL right?")
    return ConnectionLost(f"the connection to the agent at {url} failed: {_cause(exc)}")


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        timeout = request_timeout()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read())
            except (ValueError, OSError, http.client.HTTPException):
                detail = {"title": exc.reason}
            if not isinstance(detail, dict):
                detail = {"title": exc.reason}
            if exc.code == FAILED_RUN and detail.get("status") == "error":
                return detail  # an action that ran and failed: its outcome, not an API error
            raise ApiError(exc.code, detail) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise transport_error(exc, self.url, timeout) from None

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
        from nebula.roles import Principal, Role
        from nebula.runtime import data_dir_lock
        from nebula.server import create_app
        from nebula.tokens import LOCAL_ADMIN, new_token

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
                agent.tokens.allow(token, Principal(LOCAL_ADMIN, Role.ADMIN))
                host, port = runner.addresses[0][:2]
                self.client = Client(f"http://{host}:{port}", token)
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()


def agent_from_env() -> Client | None:
    """The agent NEBULA_URL names (with NEBULA_TOKEN): another host's, or a script's."""
    if url := os.environ.get("NEBULA_URL"):
        return Client(url, os.environ.get("NEBULA_TOKEN", ""))
    return None


def agent_at(runtime_file: Path) -> Client | None:
    """A client for the agent a runtime file describes, if that agent is up."""
    from nebula.runtime import RuntimeInfo

    info = RuntimeInfo.read_file(runtime_file)
    if info is None or not _alive(info.pid):
        return None
    try:
        urllib.request.urlopen(f"{info.url}/healthz", timeout=2).close()
    except OSError:
        return None
    return Client(info.url, info.token)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
