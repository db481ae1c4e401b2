"""Owner-only files: what the agent keeps is readable by the user it runs as, nobody else.

The store and its WAL hold tokens, audit rows and encrypted secrets; `secret.key` decrypts
them; `agent.json` carries an admin token for this run. All of it is 0600 in a 0700 data dir
whatever umask the agent was started with:

- a process that runs an agent (`nebula run`, the CLI's one-shot agent, `nebula init`) sets
  an owner-only umask before it creates anything (`restrict_umask`), so whatever it or a
  plugin writes later starts private too;
- the files the core makes are created with explicit modes as well (`private_dir`,
  `create_private`, `write_private`), which keeps them private in a process that embeds an
  agent without changing its own umask (tests, `nebula.testing`);
- files left by an older version or made by hand are fixed when an agent starts
  (`secure_data_dir`), with one warning per path fixed, so the operator learns that they
  were readable by others until now.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nebula.logs import get_logger

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
# What the agent keeps directly in its data dir. Only these are fixed at start: the data
# dir may also hold things of the user's, whose modes are not ours to change.
DATA_FILES = ("nebula.db", "nebula.db-wal", "nebula.db-shm", "nebula.db-journal",
              "secret.key", "agent.json", "agent.lock")

log = get_logger(component="filemodes")


@dataclass(frozen=True)
class Fixed:
    path: Path
    was: int
    now: int


def restrict_umask() -> int:
    """From now on this process creates files and dirs owner-only (bits the umask already
    masked stay masked). Returns the umask it replaced."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


def private_dir(path: Path) -> None:
    """Create `path` as 0700 if it is missing (missing parents get the usual modes, as with
    `mkdir -p`); an existing dir is left as it is."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def create_private(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists, so a program that opens it later
    (SQLite, pg_dump) writes into an owner-only file whatever its own umask."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a 0600 file holding `text`: readable by others at no
    moment, not even half-written. A symlink is written through to where it points."""
    target = path.resolve()
    # mkstemp makes the file 0600 whatever the umask.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def make_private(path: Path) -> Fixed | None:
    """Take the group and other bits off one dir (0755 → 0700) or regular file (0644 →
    0600). Returns what changed, or None when nothing did: already owner-only, missing, a
    symlink (not followed: it may point at something that is not ours) or a special file."""
    try:
        # Through a descriptor: what is checked is what gets changed.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise
    try:
        st = os.fstat(fd)
        was = stat.S_IMODE(st.st_mode)
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) or not was & 0o077:
            return None
        now = was & 0o700
        os.fchmod(fd, now)
        return Fixed(path, was, now)
    finally:
        os.close(fd)


def secure_paths(paths: Iterable[Path], logger: Any = None) -> list[Fixed]:
    """`make_private` each path, with one warning per path fixed or that could not be."""
    logger = logger or log
    fixed = []
    for path in paths:
        try:
            done = make_private(path)
        except OSError as exc:
            logger.warning("file_mode.not_fixed", path=str(path), error=exc.strerror)
            continue
        if done is not None:
            logger.warning("file_mode.fixed", path=str(path), was=f"{done.was:04o}",
                           now=f"{done.now:04o}", why="was readable by other users")
            fixed.append(done)
    return fixed


def secure_data_dir(data_dir: Path) -> list[Fixed]:
    """At start: the data dir (made if missing) 0700, the agent's files in it 0600."""
    private_dir(data_dir)
    root = data_dir.resolve()  # a data dir reached through a symlink is still ours
    return secure_paths([root, *(root / name for name in DATA_FILES)])
