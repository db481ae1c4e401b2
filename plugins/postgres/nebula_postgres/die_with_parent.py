"""`python -I -S die_with_parent.py PARENT_PID PROGRAM [ARG...]`: run PROGRAM so that it
ends when the agent does.

The agent starts pg_dump and pg_restore through this script (see `children`). It asks
Linux to send SIGTERM to this process when its parent ends (prctl PR_SET_PDEATHSIG, which
is kept across exec), makes sure the parent has not already ended, and then becomes
PROGRAM by exec: same pid, no process left in between. Otherwise a `kill -9` of the
agent leaves a pg_dump running on, orphaned, for as long as the dump takes.

Not `preexec_fn`: that runs Python code between fork and exec in the agent's child, which
the subprocess docs call unsafe in a process with threads (a lock held by another thread
at the fork stays held in the child). This script needs only the standard library, and
`-I -S` keeps its start to a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
GONE = 125  # the parent ended before the program could start


def main(argv: list[str]) -> None:
    parent, program = int(argv[1]), argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        sys.exit(f"{program}: prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}")
    if os.getppid() != parent:  # it ended before prctl: no signal will come
        sys.exit(GONE)
    try:
        os.execvp(program, argv[2:])
    except OSError as exc:
        sys.exit(f"cannot run {program}: {exc.strerror}")


if __name__ == "__main__":
    main(sys.argv)
