"""The connection to a Docker-API engine (Docker Engine or Podman's compatible service).

The docker SDK blocks, so every call runs in a worker thread. The client is made on first
use and dropped when the engine stops answering; the next call connects again, which is
all "reconnect on its own" needs.

The SDK (with requests, urllib3 and charset_normalizer: ~6 MB resident and ~0.1 s of start)
is imported only once something accepts a connection where the engine should listen: an
agent whose engine is absent knocks with a plain socket and never loads it. Every module of
this plugin that names the SDK's classes does so in functions that run on a client, which
only exists after that import.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from nebula.helpers.dockerapi import engine_url, knock

if TYPE_CHECKING:
    import docker

T = TypeVar("T")
# Parallel inspect/stats calls of one refresh share the client's connection pool.
POOL_SIZE = 16


class EngineUnavailable(Exception):
    """The engine cannot be reached; the message says where and why."""


def product(version: Mapping[str, Any]) -> str:
    """The engine's name from its version answer: Podman names itself as the first
    component ("Podman Engine"), Docker as the platform ("Docker Engine - Community")."""
    for component in version.get("Components") or []:
        if str(component.get("Name", "")).startswith("Podman"):
            return str(component["Name"])
    platform = str((version.get("Platform") or {}).get("Name") or "")
    return platform if platform.startswith("Docker") else "Docker Engine"


def cli(version: Mapping[str, Any]) -> str:
    """The engine's own command line tool, for hints an admin types (`podman pull ...`)."""
    return "podman" if product(version).startswith("Podman") else "docker"


class Engine:
    def __init__(self, base_url: str = "", timeout: float = 10.0) -> None:
        self.base_url = engine_url(base_url)
        self.timeout = timeout
        self._client: docker.DockerClient | None = None
        self._closed = False
        # Held only to swap `_client`, never while connecting: `close()` runs on the event
        # loop and must not wait for an engine that takes its time to answer.
        self._lock = threading.Lock()

    def client(self) -> docker.DockerClient:
        """The shared client, connecting first if needed (worker threads only)."""
        with self._lock:
            self._refuse_when_closed()
            if self._client is not None:
                return self._client
        try:
            knock(self.base_url, self.timeout)
        except OSError as exc:
            raise EngineUnavailable(self._reason(exc)) from None
        import docker  # something listens there: the SDK is worth loading now
        from docker.errors import DockerException

        try:
            # Connects and asks the engine for its API version. The timeout goes to
            # requests, which takes a float (docker's stubs say int).
            made = docker.DockerClient(base_url=self.base_url,
                                       timeout=self.timeout,  # type: ignore[arg-type]
                                       max_pool_size=POOL_SIZE)
        except DockerException as exc:
            raise EngineUnavailable(self._reason(exc)) from None
        with self._lock:
            if self._client is None and not self._closed:
                self._client = made
                return made
            current = self._client
        made.close()  # another thread was quicker, or the plugin stopped meanwhile
        self._refuse_when_closed()
        assert current is not None
        return current

    def _refuse_when_closed(self) -> None:
        if self._closed:
            raise EngineUnavailable(f"engine at {self.base_url}: the plugin is stopping")

    def reset(self) -> None:
        """Drop the client (the engine stopped answering); the next call connects again."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()  # closes the idle pooled connections: does not block

    def run(self, fn: Callable[[docker.DockerClient], T]) -> T:
        """`fn(client)` in the calling thread; a lost connection becomes EngineUnavailable."""
        client = self.client()
        import requests  # loaded with the SDK by `client()`
        from docker.errors import APIError, DockerException

        try:
            return fn(client)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.reset()
            raise EngineUnavailable(self._reason(exc)) from None
        except APIError:
            raise
        except DockerException as exc:
            if "connection" in str(exc).lower():
                self.reset()
                raise EngineUnavailable(self._reason(exc)) from None
            raise

    async def call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        return await asyncio.to_thread(self.run, fn)

    def _reason(self, exc: BaseException) -> str:
        text = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        for hint in ("No such file or directory", "Connection refused", "Permission denied",
                     "timed out", "Read timed out"):
            if hint in text:
                text = hint.lower()
                break
        return f"engine at {self.base_url} unreachable: {text}"

    def close(self) -> None:
        """No more calls: the client is closed and a call still connecting drops its own."""
        with self._lock:
            self._closed = True
        self.reset()

    @property
    def closed(self) -> bool:
        return self._closed
