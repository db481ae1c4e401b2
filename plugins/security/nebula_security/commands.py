"""Running a host command without blocking the loop: an asyncio subprocess, C locale (the
output is parsed), a timeout after which it is killed."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

# Where Debian keeps sshd; a non-root agent's PATH often lacks the sbin dirs.
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


@dataclass(frozen=True)
class Output:
    code: int
    stdout: str
    stderr: str


def find(program: str) -> str | None:
    """The program's path (an absolute path is taken as given), or None."""
    if os.path.isabs(program):
        return program if os.access(program, os.X_OK) else None
    return shutil.which(program, path=os.pathsep.join((os.environ.get("PATH", ""), *SBIN)))


async def run(argv: list[str], timeout: float,
              extra_env: Mapping[str, str] | None = None) -> Output:
    """Run `argv` to completion; TimeoutError after `timeout` seconds (the process is
    killed and reaped)."""
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", **(extra_env or {})}
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise
    return Output(proc.returncode or 0, out.decode(errors="replace"),
                  err.decode(errors="replace"))
