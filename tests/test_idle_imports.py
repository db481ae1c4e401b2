"""What an idle agent imports stays what it needs (bench/footprint.py measures the RSS).

croniter pulls in dateutil, zoneinfo and sysconfig (about 1.7 MB resident); an agent
whose jobs all run on intervals must not load it, and a cron job still works."""

from __future__ import annotations

import subprocess
import sys

HEAVY_FOR_CRON = ("croniter", "dateutil", "zoneinfo")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def test_the_agent_and_interval_jobs_do_not_import_croniter():
    code = ("import sys, asyncio\n"
            "import nebula.runtime, nebula.agent\n"
            "from nebula.scheduler import ScheduledJob, Scheduler\n"
            "async def body(): pass\n"
            "async def main():\n"
            "    s = Scheduler()\n"
            "    s.add(ScheduledJob('t.every', body, interval=30))\n"
            "    s.start()\n"
            "    await s.stop()\n"
            "asyncio.run(main())\n"
            f"print(sorted(m for m in {HEAVY_FOR_CRON!r} if m in sys.modules))\n")
    assert _run(code) == "[]"


def test_a_cron_job_still_validates_and_schedules():
    code = ("import asyncio\n"
            "from nebula.scheduler import ScheduledJob, Scheduler\n"
            "async def body(): pass\n"
            "try:\n"
            "    ScheduledJob('t.bad', body, cron='61 * * * *')\n"
            "except ValueError as exc:\n"
            "    print('refused:', exc)\n"
            "async def main():\n"
            "    s = Scheduler()\n"
            "    job = ScheduledJob('t.cron', body, cron='*/5 * * * *')\n"
            "    s.add(job)\n"
            "    s.start()\n"
            "    due = job.next_due - asyncio.get_running_loop().time()\n"
            "    await s.stop()\n"
            "    print('due within 5 min:', 0 <= due <= 300)\n"
            "asyncio.run(main())\n")
    assert _run(code).splitlines() == [
        "refused: job t.bad: invalid cron expression '61 * * * *'",
        "due within 5 min: True"]
