"""The journal through the real `journalctl --output=json --follow`, on a journal file
written by the real `systemd-journal-remote` (no systemd runs on this machine, so there is
no system journal to follow): entries with their priority and unit, new entries as they
are appended, and a restart that goes on after the saved cursor."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import PLUGINS
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

JOURNAL_REMOTE = Path("/lib/systemd/systemd-journal-remote")
BOOT = "0123456789abcdef0123456789abcdef"


async def append(journal: Path, *entries: tuple[int, str, str, str]) -> None:
    """Entries (seconds, priority, unit, message) in journal export format, appended by
    systemd-journal-remote as a journal server writes them."""
    export = "".join(
        f"__REALTIME_TIMESTAMP={t * 1_000_000}\n__MONOTONIC_TIMESTAMP={t}\n_BOOT_ID={BOOT}\n"
        f"PRIORITY={priority}\n_SYSTEMD_UNIT={unit}\n_HOSTNAME=box\nMESSAGE={message}\n\n"
        for t, priority, unit, message in entries)
    proc = await asyncio.create_subprocess_exec(
        str(JOURNAL_REMOTE), f"--output={journal}", "-", stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate(export.encode())
    assert proc.returncode == 0, err


async def messages(agent: Any, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        _, body = await agent.get("/api/v1/logs?source=journal&limit=100")
        return body["lines"] if len(body["lines"]) >= count else None
    return list(reversed(await eventually(enough, timeout=30)))


async def test_journal_entries_follow_and_resume_after_the_cursor(nebula_agent: Any,
                                                                   tmp_path: Path) -> None:
    journal = tmp_path / "remote.journal"
    await append(journal, (1796680000, "3", "ticketbot.service", "KeyError: 'guild'"),
                 (1796680001, "6", "ticketbot.service", "restarting"))
    config = {"logs": {"journal": {"enabled": True, "file": str(journal),
                                   "from_start": True}}}
    async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
        got = await messages(agent, 2)
        assert [(g["message"], g["level_name"], g["unit"], g["host"]) for g in got] == [
            ("KeyError: 'guild'", "err", "ticketbot.service", "box"),
            ("restarting", "info", "ticketbot.service", "box")]
        assert got[0]["ts"] == 1796680000
        await append(journal, (1796680002, "4", "nginx.service", "upstream slow"))
        assert (await messages(agent, 3))[-1]["message"] == "upstream slow"  # --follow

        running = agent.agent.config
        off = {**running.plugins["logs"], "enabled": False}
        await agent.agent.reload(replace(running, plugins={**running.plugins, "logs": off}))
        await append(journal, (1796680003, "2", "kernel", "written while stopped"))
        await agent.agent.reload(running)
        got = await messages(agent, 4)
        assert [g["message"] for g in got] == ["KeyError: 'guild'", "restarting",
                                               "upstream slow", "written while stopped"]
        _, body = await agent.get("/api/v1/logs/sources")
        state = next(s for s in body["sources"] if s["kind"] == "journal")
        assert state["state"] == "running", state
