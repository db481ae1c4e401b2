"""nebula.helpers.libpq: a knock before loading the PostgreSQL driver, over real sockets;
and an app watch whose database server is absent never loads psycopg."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from nebula.helpers.libpq import ServerUnreachable, knock


@pytest.fixture
def closed_port():
    """A loopback port held bound but not listening: every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_refused_knock_reads_as_libpq_says_it(closed_port):
    with pytest.raises(ServerUnreachable) as refused:
        await knock("127.0.0.1", closed_port, 2)
    assert str(refused.value) == (f'connection to server at "127.0.0.1", port {closed_port} '
                                  "failed: Connection refused")


async def test_a_listening_server_or_socket_answers_the_knock(tmp_path, closed_port):
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    unix = await asyncio.start_unix_server(lambda r, w: w.close(),
                                           str(tmp_path / f".s.PGSQL.{port}"))
    async with server, unix:
        await knock(f"127.0.0.1,{tmp_path}", port, 2)  # libpq's list: the first answers
        await knock(str(tmp_path), port, 2)  # a socket directory, as libpq reads `host`
        await knock("127.0.0.2,127.0.0.1", port, 2)  # the second of two answers
    with pytest.raises(ServerUnreachable, match=f'on socket "{tmp_path}/.s.PGSQL.1"'):
        await knock(str(tmp_path), 1, 2)


WATCH = r"""
import asyncio, sys
from nebula.api import PluginContext
from nebula.config import with_defaults
from nebula.context import KeyValue
from nebula.helpers.appwatch import AppWatch
from tests.appwatch_watcher import SPEC, manifest

class Peers:
    def peer_config(self, plugin):
        return {"host": "127.0.0.1", "port": int(sys.argv[1])} if plugin == "postgres" else None

async def main():
    config = with_defaults({"database": "n8n"}, manifest.config_schema)
    ctx = PluginContext("n8nwatch", config, KeyValue(None, "n8nwatch"), Peers())
    reading = await AppWatch(ctx, SPEC)._query()
    print(reading.status.value, "|", reading.detail, "|", "psycopg" in sys.modules)

asyncio.run(main())
"""


@pytest.mark.e2e  # an app watch in a fresh interpreter
def test_an_app_watch_with_no_database_server_never_loads_psycopg(closed_port):
    done = subprocess.run([sys.executable, "-c", WATCH, str(closed_port)], text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    status, detail, loaded = (part.strip() for part in done.stdout.strip().split("|"))
    assert (status, loaded) == ("critical", "False")
    assert detail == (f"cannot connect to n8n on 127.0.0.1:{closed_port} as postgres: "
                      f'connection to server at "127.0.0.1", port {closed_port} failed: '
                      "Connection refused")
