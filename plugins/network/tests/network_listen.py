"""Listening sockets held by another process, so a test can check that the plugin names
the owner and its command line (not the test's own process)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

# argv[1:] after -c: proto, address, port (0: any), marker (which makes the command line
# unique).
SERVER = """
import socket, sys
proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(family, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((address, port))
if proto == "tcp":
    s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def listening(proto: str, address: str, marker: str,
              port: int = 0) -> Iterator[tuple[int, int, str]]:
    """(port, pid, marker) of a socket bound by a child process until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER, proto, address, str(port), marker],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield port, proc.pid, marker
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
