"""Podman's `stopped`: a container that exited and is not cleaned up yet (issue 15: after
`podman kill` the table showed `stopped` for 2-15 s and the exited check left it out). The
engine here cleans up CLEANUP_DELAY seconds late, as a loaded host does."""

from __future__ import annotations

import asyncio

from docker_agent import PLUGIN, of, published, row_of, run_check, streaming
from docker_engines import CLEANUP_DELAY

from tests.waiting import eventually


async def test_a_killed_container_is_exited_at_once_and_counts_as_exited(
        nebula_agent, slow_cleanup_podman, on_slow_cleanup) -> None:
    sleeper = on_slow_cleanup.run(["sleep", "1000"])
    config = {"docker": {"base_url": slow_cleanup_podman.base_url, "interval": 3600}}
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        await streaming(agent)
        await row_of(agent, sleeper.name, state="running")
        async with published(agent, "docker.container.die") as events:
            await asyncio.to_thread(slow_cleanup_podman.podman, "kill", sleeper.name)
            await eventually(lambda: of(events, "docker.container.die", sleeper.name),
                             timeout=20)
        # The die event's re-inspect found Podman's `stopped`: said as what it becomes.
        (die,) = of(events, "docker.container.die", sleeper.name)
        assert (die["state"], die["exit_code"]) == ("exited", 137), die
        row = await row_of(agent, sleeper.name)
        assert (row["state"], row["exit_code"]) == ("exited", 137), row
        result = await run_check(agent, "exited")
        assert result["last_status"] == "warning", result
        assert f"{sleeper.name} (exit 137)" in result["summary"]
        # Podman's cleanup comes later; the table stays right through it.
        def cleaned_up() -> bool:
            sleeper.reload()
            return sleeper.attrs["State"]["Status"] == "exited"

        await eventually(lambda: asyncio.to_thread(cleaned_up),
                         timeout=CLEANUP_DELAY + 30, interval=0.2)
        assert (await row_of(agent, sleeper.name))["state"] == "exited"
