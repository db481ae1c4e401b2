"""Long actions run as runs: the caller gets the run to follow instead of a timeout, sees its
progress, and a run the agent stopped in the middle of is recorded `interrupted`."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from nebula.api import Action, Manifest, hookimpl, report_progress
from nebula.store import SqliteStore
from tests.waiting import eventually, wait_for


class Slow:
    """An action that goes on until the test lets it finish, reporting progress."""

    manifest = Manifest(api_version="1.2")

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def _long(self, params: Mapping[str, Any]) -> Any:
        report_progress(0.25, "copying: 1 of 4 files")
        self.started.set()
        await self.release.wait()
        return {"copied": 4}

    async def _fails(self, params: Mapping[str, Any]) -> Any:
        raise RuntimeError("disk full")

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [Action("long", self._long, timeout=600),
                Action("fails", self._fails)]


async def test_a_long_action_answers_with_its_run_and_shows_progress(nebula_agent):
    slow = Slow()
    async with nebula_agent({"slow": slow}) as a:
        status, body = await a.post("/api/v1/actions/slow.long/run", {"wait": 0.05})
        assert status == 202 and body["status"] == "running", body
        run_id = body["run"]["id"]
        await slow.started.wait()
        _, run = await a.get(f"/api/v1/runs/{run_id}")
        assert (run["status"], run["progress"], run["message"]) == (
            "running", 0.25, "copying: 1 of 4 files")
        _, running = await a.get("/api/v1/runs?status=running")
        assert [r["id"] for r in running["runs"]] == [run_id]
        slow.release.set()
        run = await eventually(lambda: _finished(a, run_id))
        assert run["status"] == "ok"
        assert run["outcome"]["result"] == {"copied": 4}
        _, audit = await a.get("/api/v1/audit?action=slow.long")
        assert [r["outcome"] for r in audit["audit"]] == ["ok"]


async def _finished(a, run_id: str) -> dict[str, Any] | None:
    _, run = await a.get(f"/api/v1/runs/{run_id}")
    return run if run["status"] != "running" else None


async def test_an_action_that_ran_and_failed_is_not_a_200(nebula_agent):
    async with nebula_agent({"slow": Slow()}) as a:
        status, body = await a.post("/api/v1/actions/slow.fails/run", {})
        assert status == 502
        assert body["status"] == "error" and "disk full" in body["error"]
        _, run = await a.get(f"/api/v1/runs/{body['run']}")
        assert run["status"] == "error"


async def test_a_run_cut_short_by_a_clean_stop_is_interrupted(nebula_agent):
    slow = Slow()
    async with nebula_agent({"slow": slow}) as a:
        _, body = await a.post("/api/v1/actions/slow.long/run", {"wait": 0})
        await slow.started.wait()
        path = a.agent.store.path
    # The agent stopped with the run going: it ends interrupted, with its audit row.
    rows = await _rows_after(SqliteStore(path), body["run"]["id"])
    assert rows == ("interrupted", ["interrupted"])


async def _rows_after(store, run_id: str) -> tuple[str, list[str]]:
    await store.open()
    try:
        run = await store.fetchone("SELECT status FROM runs WHERE id = ?", (run_id,))
        audit = await store.fetchall("SELECT outcome FROM audit WHERE action = 'slow.long'")
        return run["status"], [r["outcome"] for r in audit]
    finally:
        await store.close()


@pytest.fixture(scope="module")
def hello_runs_agent(hello_python, start_agent, tmp_path_factory):
    agent = start_agent(hello_python, tmp_path_factory.mktemp("runs-agent"), {"hello": {}})
    yield agent
    agent.stop()


def test_the_cli_follows_a_long_run_with_progress_to_its_end(hello_runs_agent, hello_python,
                                                             tmp_path):
    target = tmp_path / "done"
    command = [hello_python, "-m", "nebula", "--config", str(hello_runs_agent.config),
               "action", "run", "hello.wait_for", "-p", f"path={target}"]
    cli = subprocess.Popen(command, env=hello_runs_agent.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    err = bytearray()

    def read_stderr() -> None:
        while chunk := cli.stderr.read1(256):
            err.extend(chunk)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        # The CLI draws the run's progress while it waits, however long it takes.
        wait_for(lambda: b"waiting for done" in err, timeout=60)
        assert b"hello.wait_for: running" in err
        target.write_text("the backup")
        out = cli.stdout.read()
        assert cli.wait(timeout=60) == 0, err.decode()
    finally:
        cli.kill()
    assert json.loads(out) == {"found": "the backup"}


def test_a_run_the_agent_died_in_is_interrupted_at_the_next_start(
        hello_python, start_agent, tmp_path):
    agent = start_agent(hello_python, tmp_path, {"hello": {}})
    status, body = agent.post("/api/v1/actions/hello.wait_for/run",
                              {"params": {"path": str(tmp_path / "never")}, "wait": 0})
    assert status == 202, body
    run_id = body["run"]["id"]
    agent.signal(signal.SIGKILL)
    agent.wait(timeout=30)
    agent.start()
    status, run = agent.get(f"/api/v1/runs/{run_id}")
    assert (status, run["status"]) == (200, "interrupted"), run
    _, audit = agent.get("/api/v1/audit?action=hello.wait_for")
    assert [r["outcome"] for r in audit["audit"]] == ["interrupted"]
    assert run_id in audit["audit"][0]["detail"]


def _running(agent, action: str) -> bool:
    _, body = agent.get("/api/v1/runs?status=running")
    return any(r["action"] == action for r in body["runs"])
