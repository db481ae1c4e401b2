"""Running the agent as a server: the data-dir lock, the runtime files, signals.

The runtime file (`<data_dir>/agent.json`, mode 0600) tells the CLI on this host where the
agent listens and gives it a token valid for this run only: being able to read the file is
what makes a local user an admin (and lets `nebula action run --yes` approve). A copy goes
to the user's runtime dir (`$XDG_RUNTIME_DIR/nebula/agent.json`), so the CLI finds the
agent this user started from any directory, with no config file at hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import ssl
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config, ConfigError
from nebula.filemodes import FILE_MODE, private_dir, restrict_umask, write_private
from nebula.logs import get_logger
from nebula.roles import Principal, Role
from nebula.sdnotify import keep_alive, notify
from nebula.server import create_app
from nebula.tokens import LOCAL_ADMIN, new_token

SHUTDOWN_GRACE = 5.0
log = get_logger(component="runtime")


RUNTIME_FILE = "agent.json"


@dataclass(frozen=True)
class RuntimeInfo:
    url: str
    pid: int
    token: str
    # Where the agent keeps its store, and the config it read (None: defaults).
    data_dir: str | None = None
    config: str | None = None

    @classmethod
    def read(cls, data_dir: Path) -> RuntimeInfo | None:
        return cls.read_file(data_dir / RUNTIME_FILE)

    @classmethod
    def read_file(cls, path: Path) -> RuntimeInfo | None:
        try:
            raw = json.loads(path.read_text())
            return cls(raw["url"], int(raw["pid"]), raw["token"], raw.get("data_dir"),
                       raw.get("config"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, data_dir: Path) -> None:
        write_private(data_dir / RUNTIME_FILE, json.dumps(asdict(self)))


def user_runtime_file() -> Path | None:
    """`agent.json` in the user's runtime dir (platformdirs: `$XDG_RUNTIME_DIR/nebula` on
    Linux), created owner-only; None when that dir cannot be made or is not private to
    this user. The file points the CLI at an agent and hands it an admin token, so a dir
    someone else made (the /tmp fallback without XDG_RUNTIME_DIR) is never trusted."""
    import warnings

    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():  # the /tmp fallback warns; it is checked below
        warnings.simplefilter("ignore")
        folder = Path(user_runtime_dir("nebula"))
    try:
        private_dir(folder)
        for path in (folder.parent, folder):
            info = path.lstat()
            if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
                    or info.st_mode & 0o022):
                return None
    except OSError:
        return None
    return folder / RUNTIME_FILE


def _publish(info: RuntimeInfo) -> Path | None:
    """Write the user's runtime file too; where it cannot be, the data dir's one is all."""
    path = user_runtime_file()
    if path is None:
        return None
    try:
        write_private(path, json.dumps(asdict(info)))
    except OSError as exc:
        log.warning("agent.runtime_file_failed", path=str(path), error=exc.strerror)
        return None
    return path


def _unpublish(path: Path | None, pid: int) -> None:
    """Remove the user's runtime file if it is still this agent's (another agent of the
    same user may have started since, and taken it over)."""
    if path is not None and (info := RuntimeInfo.read_file(path)) and info.pid == pid:
        path.unlink(missing_ok=True)


class AlreadyRunning(Exception):
    pass


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[IO[str]]:
    """Hold an exclusive lock on the data dir for as long as this agent runs.

    Every agent process (`nebula run`, the CLI's one-shot agent) takes the lock before it
    creates anything, so this is where the process turns owner-only (see nebula.filemodes).
    """
    restrict_umask()
    private_dir(data_dir)
    handle = os.fdopen(os.open(data_dir / "agent.lock", os.O_RDWR | os.O_CREAT, FILE_MODE),
                       "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        info = RuntimeInfo.read(data_dir)
        raise AlreadyRunning(
            f"another agent already uses {data_dir}"
            + (f" (pid {info.pid}, {info.url})" if info else "")) from None
    try:
        yield handle
    finally:
        handle.close()


def _client_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(config: Config) -> None:
    """Run until SIGTERM or SIGINT; SIGHUP reloads the config."""
    started = time.perf_counter()
    with data_dir_lock(config.data_dir):
        agent = Agent(config)
        runner = web.AppRunner(create_app(config, agent=agent), handle_signals=False,
                               access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, config.agent["bind"], config.agent["port"])
        await site.start()
        host, port = runner.addresses[0][:2]
        if "tls_port" in config.agent:
            await _mutual_tls_site(runner, config)
        token = new_token()
        agent.tokens.allow(token, Principal(LOCAL_ADMIN, Role.ADMIN))
        info = RuntimeInfo(_client_url(host, port), os.getpid(), token,
                           str(config.data_dir.resolve()),
                           str(config.path.resolve()) if config.path else None)
        info.write(config.data_dir)
        published = _publish(info)
        log.info("agent.listening", url=info.url, ready_ms=round(
            (time.perf_counter() - started) * 1000, 1))
        # Under systemd (Type=notify): ready now that /healthz answers; then the watchdog.
        notify("READY=1", f"STATUS=listening on {info.url}")
        watchdog = asyncio.ensure_future(keep_alive())

        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_reload(agent)))
        try:
            await stopping.wait()
        finally:
            log.info("agent.stopping")
            notify("STOPPING=1")
            watchdog.cancel()
            (config.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
            _unpublish(published, info.pid)
            await runner.cleanup()


def mutual_tls_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    """The TLS listener's context: its certificate, and a client certificate from
    `client_ca` required in the handshake (a missing or foreign one never gets a request
    in; bearer tokens are checked after, as on the plain listener)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=client_ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert, key)
    return context


async def _mutual_tls_site(runner: web.AppRunner, config: Config) -> None:
    agent = config.agent
    context = mutual_tls_context(agent["tls_cert"], agent["tls_key"], agent["tls_client_ca"])
    site = web.TCPSite(runner, agent["bind"], agent["tls_port"], ssl_context=context)
    await site.start()
    log.info("agent.listening_tls", bind=agent["bind"], port=agent["tls_port"])


async def _reload(agent: Agent) -> None:
    notify("RELOADING=1")
    try:
        await agent.reload_from_disk()
    except ConfigError as exc:
        log.error("agent.reload_refused", problems=[str(p) for p in exc.problems])
    finally:
        notify("READY=1")
