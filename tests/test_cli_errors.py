"""The CLI when the agent is not there, goes silent, or goes away mid-request: one line on
stderr, an exit code that says which (sysexits: 69 unreachable, 75 no answer in time, 76
the connection lost), and never a traceback. Run through the real `nebula` entry point
against real sockets: a port nobody listens on, loopback servers that misbehave in one way
each, and a real agent process that is stopped and killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import psutil
import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula
from tests.waiting import wait_for

UNREACHABLE, NO_ANSWER, LOST = 69, 75, 76


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _close(conn: socket.socket) -> None:
    _read_request(conn)
    conn.close()


def _reset(conn: socket.socket) -> None:
    _read_request(conn)
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _half_answer(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"version\":")
    conn.close()


def _not_the_api(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n"
                 b"<html>hi</html>")
    conn.close()


@contextlib.contextmanager
def loopback_server(handle: Callable[[socket.socket], None] | None) -> Iterator[str]:
    """A TCP server on 127.0.0.1 treating each connection with `handle`; None: accept and
    never answer (the connection stays open until the server stops)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if handle is None:
                held.append(conn)
            else:
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()
        thread.join(5)


def run_against(url: str, tmp_path, *args: str, **env: str):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    return nebula(*args, env=isolated_env(tmp_path, NEBULA_URL=url, NEBULA_TOKEN="t", **env),
                  cwd=cwd)


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("args", [("status",), ("check",), ("action", "list"),
                                  ("approvals", "list"), ("plugin", "list")])
def test_an_agent_url_nobody_listens_on(tmp_path, args):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_against(url, tmp_path, *args)
    assert_one_line(result, UNREACHABLE, f"cannot reach the agent at {url}",
                    "connection refused")


def test_a_host_name_that_does_not_resolve(tmp_path):
    result = run_against("http://nebula-agent.invalid:8765", tmp_path, "status")
    assert_one_line(result, UNREACHABLE, "cannot reach the agent", "cannot resolve")


def test_a_server_that_closes_without_answering(tmp_path):
    with loopback_server(_close) as url:
        result = run_against(url, tmp_path, "status")
    assert_one_line(result, LOST, f"the agent at {url} closed the connection")


def test_a_server_that_resets_the_connection(tmp_path):
    with loopback_server(_reset) as url:
        result = run_against(url, tmp_path, "check")
    assert_one_line(result, LOST, f"the agent at {url}", "reset the connection")


def test_a_server_that_stops_halfway_through_its_answer(tmp_path):
    with loopback_server(_half_answer) as url:
        result = run_against(url, tmp_path, "status")
    assert_one_line(result, LOST, "halfway through its answer")


def test_something_that_is_not_the_agent(tmp_path):
    with loopback_server(_not_the_api) as url:
        result = run_against(url, tmp_path, "action", "list")
    assert_one_line(result, LOST, "not the agent's API", "NEBULA_URL")


def test_a_server_that_never_answers_times_out_as_configured(tmp_path):
    with loopback_server(None) as url:
        result = run_against(url, tmp_path, "status", NEBULA_TIMEOUT="0.5")
    assert_one_line(result, NO_ANSWER, f"the agent at {url} did not answer within 0.5s",
                    "NEBULA_TIMEOUT")


def test_an_agent_that_dies_mid_request(tmp_path):
    """A real agent, frozen (SIGSTOP) while the CLI's request waits in its socket, then
    killed: the CLI reads the kernel's reset, not a traceback."""
    env = isolated_env(tmp_path)
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()},
                          {"system": {"enabled": True}})
    agent = AgentProcess(config, tmp_path / "data", env)
    agent.start()
    assert agent.proc is not None
    port = int(agent.url.rsplit(":", 1)[1])
    cli = None
    try:
        os.kill(agent.proc.pid, signal.SIGSTOP)
        cli = subprocess.Popen(
            [sys.executable, "-m", "nebula", "status"], text=True,
            env={**env, "NEBULA_URL": agent.url, "NEBULA_TOKEN": agent.token},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The request is in flight once the CLI holds a connection to the agent's port.
        wait_for(lambda: any(c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"
                             for c in psutil.Process(cli.pid).net_connections("tcp")),
                 timeout=20)
        agent.proc.kill()
        agent.proc.wait(10)
        out, err = cli.communicate(timeout=30)
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        if agent.proc.poll() is None:
            os.kill(agent.proc.pid, signal.SIGCONT)
        agent.stop()
    assert_one_line(subprocess.CompletedProcess(cli.args, cli.returncode, out, err), LOST,
                    f"the agent at {agent.url}")
