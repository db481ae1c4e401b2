"""File sources against real rotation: logrotate itself (`create` renames the file away,
`copytruncate` empties it in place), a restart in between, over-long lines. Every line
written is stored exactly once."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nebula_logs.files import FileFollower, FileSpec
from nebula_logs.store import Filters, LogStore
from tests.waiting import wait_for


class Rig:
    def __init__(self, tmp: Path, pattern: str, max_line_bytes: int = 65536,
                 from_start: bool = True) -> None:
        self.tmp = tmp
        self.store = LogStore(tmp / "logs.db", batch_lines=1000)
        self.store.open()
        self.pattern, self.max_line_bytes = pattern, max_line_bytes
        self.from_start = from_start
        self.follower: FileFollower | None = None

    def start(self) -> None:
        self.follower = FileFollower([FileSpec("app", self.pattern, self.from_start)],
                                     self.store.submit,
                                     self.store.position, max_line_bytes=self.max_line_bytes,
                                     interval=0.02)
        self.follower.start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    def messages(self) -> list[str]:
        return [r["message"] for r in reversed(self.store.search(Filters(), 100000))]

    def until(self, count: int) -> list[str]:
        return wait_for(lambda: (m := self.messages()) and len(m) >= count and m, timeout=20)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path, str(tmp_path / "app.log"))
    yield made
    made.stop()
    made.store.close()


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with path.open(mode) as handle:
        handle.writelines(line + "\n" for line in lines)


def logrotate(tmp: Path, log: Path, how: str) -> None:
    conf = tmp / "logrotate.conf"
    conf.write_text(f"{log} {{\n  rotate 3\n  {how}\n  missingok\n}}\n")
    subprocess.run(["logrotate", "-f", "-s", str(tmp / "logrotate.state"), str(conf)],
                   check=True, capture_output=True, text=True)


@pytest.mark.parametrize("how", ["create", "copytruncate"])
def test_lines_survive_a_real_logrotate(rig: Rig, tmp_path: Path, how: str) -> None:
    log = tmp_path / "app.log"
    write(log, [f"before {i}" for i in range(50)])
    rig.start()
    rig.until(50)
    write(log, [f"late {i}" for i in range(5)])  # possibly unread when the rotation comes
    rig.until(55)  # copytruncate loses what it did not copy; see files.py
    logrotate(tmp_path, log, how)
    assert (tmp_path / "app.log.1").exists()
    write(log, [f"after {i}" for i in range(20)])
    got = rig.until(75)
    assert got == ([f"before {i}" for i in range(50)] + [f"late {i}" for i in range(5)]
                   + [f"after {i}" for i in range(20)])


def test_a_file_renamed_with_unread_lines_is_read_to_its_end(rig: Rig, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, ["one"])
    rig.start()
    rig.until(1)
    rig.stop()  # the agent is down while the file gets more lines and is rotated
    write(log, ["two", "three"])
    os.rename(log, tmp_path / "app.log.1")
    write(log, ["four"], "w")
    rig.start()
    assert rig.until(4) == ["one", "two", "three", "four"]


def test_a_restart_resumes_from_the_saved_position(rig: Rig, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, [f"a{i}" for i in range(100)])
    rig.start()
    rig.until(100)
    rig.stop()
    write(log, [f"b{i}" for i in range(10)])
    rig.start()
    got = rig.until(110)
    assert got == [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(10)]


def test_an_unfinished_line_waits_for_its_newline(rig: Rig, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    with log.open("w") as handle:
        handle.write("first\nsecond half")
    rig.start()
    rig.until(1)
    with log.open("a") as handle:
        handle.write(" done\n")
    assert rig.until(2) == ["first", "second half done"]


def test_a_huge_line_is_stored_cut_and_the_next_line_is_whole(tmp_path: Path) -> None:
    rig = Rig(tmp_path, str(tmp_path / "*.log"), max_line_bytes=1024)
    try:
        log = tmp_path / "big.log"
        with log.open("wb") as handle:
            handle.write(b"z" * (3 << 20) + b"\nafter\n\xff\xfe binary \x00 tail\n")
        rig.start()
        got = rig.until(3)
        assert got[0].startswith("z" * 1024) and "bytes cut]" in got[0]
        assert got[1:] == ["after", "\ufffd\ufffd binary \ufffd tail"]
        assert rig.store.search(Filters(), 10)[0]["unit"] == "big.log"
    finally:
        rig.stop()
        rig.store.close()


def test_a_glob_picks_up_new_files(tmp_path: Path) -> None:
    rig = Rig(tmp_path, str(tmp_path / "*.log"))
    try:
        rig.start()
        write(tmp_path / "one.log", ["from one"])
        rig.until(1)
        write(tmp_path / "two.log", ["from two"])
        assert sorted(rig.until(2)) == ["from one", "from two"]
        assert rig.follower is not None
        assert rig.follower.states["app"].state == "running"
    finally:
        rig.stop()
        rig.store.close()


def test_without_from_start_old_content_is_skipped_but_new_files_are_read(
        tmp_path: Path) -> None:
    write(tmp_path / "old.log", ["before the agent"])
    rig = Rig(tmp_path, str(tmp_path / "*.log"), from_start=False)
    try:
        rig.start()
        assert rig.follower is not None
        wait_for(lambda: rig.follower.states["app"].state == "running")
        write(tmp_path / "old.log", ["after start"])
        write(tmp_path / "new.log", ["first line of a new file"])
        assert sorted(rig.until(2)) == ["after start", "first line of a new file"]
    finally:
        rig.stop()
        rig.store.close()


def test_a_file_renamed_under_a_running_follower_is_read_to_its_end(rig: Rig,
                                                                     tmp_path: Path) -> None:
    # One look at a time (the follower's own step, without its thread), so the rotation
    # surely falls between two looks with lines still unread in the old file.
    log = tmp_path / "app.log"
    write(log, ["one"])
    follower = FileFollower([FileSpec("app", str(log))], rig.store.submit, rig.store.position,
                            max_line_bytes=65536)
    spec = follower.specs[0]
    follower._poll(spec)
    write(log, ["two", "three"])
    os.rename(log, tmp_path / "app.log.1")
    write(log, ["four"], "w")
    follower._poll(spec)
    try:
        assert rig.until(4) == ["one", "two", "three", "four"]
    finally:
        follower.stop()
