"""Container logs take disk the engine's df does not count (issue 15: a 435 MB log, and the
disk check said 0.00 GB). Podman's k8s-file log of a real container, measured per
container in the table and added to the disk check."""

from __future__ import annotations

import asyncio
import os

from docker_agent import PLUGIN, docker_config, panel, row_of, run_check

from tests.engines.podman import BUSYBOX
from tests.waiting import eventually

COPIES = 12  # of the busybox binary (~2 MB) written to stdout: a log of ~25 MB
MB = 1024**2


async def test_log_size_is_shown_per_container_and_counted_as_disk_use(
        nebula_agent, podman, client, run_container) -> None:
    chatty = run_container(["sh", "-c", f"for i in $(seq 1 {COPIES}); do cat /bin/busybox; "
                                        "done; echo; echo written; sleep 1000"])
    log = client.api.inspect_container(chatty.id)["LogPath"]

    def written() -> bool:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 64))
            return f.read().endswith(b" F written\n")  # k8s-file: time stream F line

    await eventually(lambda: asyncio.to_thread(written), timeout=60, interval=0.2)
    size = await asyncio.to_thread(os.path.getsize, log)
    assert size > COPIES * BUSYBOX.stat().st_size

    config = docker_config(podman, disk_warning_gb=round(0.8 * size / 1024**3, 4),
                           disk_critical_gb=100)
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        row = await row_of(agent, chatty.name)
        assert row["log_bytes"] == size
        disk = await panel(agent, "disk")
        assert disk["logs"] >= size
        result = await run_check(agent, "disk")
        # The log alone is over the warning line; before, nothing counted it.
        assert result["last_status"] == "warning", result
        assert result["metrics"]["disk.logs_bytes"] == disk["logs"]
        assert result["metrics"]["disk.total_bytes"] >= size
        assert f", logs {disk['logs'] / 1024**3:.2f} GB;" in result["summary"], result
