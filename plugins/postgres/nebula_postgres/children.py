"""pg_dump and pg_restore as child processes that never outlive the agent.

Each runs in a process group of its own (a terminal's Ctrl-C or a signal to the agent's
group does not reach it behind the agent's back, and the whole group is killed when its
caller is cancelled) and, on Linux, under `die_with_parent`, which has the kernel send it
SIGTERM when the agent ends, however it ends (`kill -9` included).

The parent-death signal comes when the *thread* that started the child ends; children are
started from the event loop's thread, which lives as long as the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

GUARD = Path(__file__).with_name("die_with_parent.py")


def command(program: str, args: Sequence[str]) -> list[str]:
    """The command line that runs `program` under the guard (plain, off Linux)."""
    if not sys.platform.startswith("linux"):
        return [program, *args]
    return [sys.executable, "-I", "-S", str(GUARD), str(os.getpid()), program, *args]


async def start(program: str, args: Sequence[str], env: Mapping[str, str], *,
                stdout: int) -> asyncio.subprocess.Process:
    """Started in its own session and process group; stdin empty, stderr piped."""
    return await asyncio.create_subprocess_exec(
        *command(program, args), env=dict(env), stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout, stderr=asyncio.subprocess.PIPE, start_new_session=True)


def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL to the child's whole process group, unless it is already reaped (its pid,
    and so its group id, could then be another process's)."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
