"""What the event stream makes of a real Podman's events (issue 15, section 2): each event
once, even when Podman sends old ones again after rotating its events log; a die event's
own exit code; and restarts counted only when the restart policy made them."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from docker_agent import PLUGIN, docker_config, of, published, row_of, run_check, streaming
from docker_engines import ROTATE_BYTES

from tests.waiting import eventually

RETRIES = 6
LOOPING = ["sh", "-c", "sleep 0.2; exit 3"]


class Noise:
    """Pauses and unpauses a container over and over in a thread: events, fast, so
    Podman's events log fills and rotates while a test watches something else."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.pairs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.container.pause()
            self.container.unpause()
            self.pairs += 1

    def __enter__(self) -> Noise:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def _fillings(log: Path, made: int) -> float:
    """About how many times `made` events filled the log up to its rotation size."""
    data = log.read_bytes()
    return made * len(data) / max(1, data.count(b"\n")) / ROTATE_BYTES


async def test_events_podman_sends_again_after_rotating_its_log_count_once(
        nebula_agent, rotating_podman, on_rotating) -> None:
    """Issue 15: Podman sent 1,560 old events again in 13 s and the restart count jumped
    35 -> 73 while Podman counted 47. Here its log rotates every 24 kB while a container
    loops under its restart policy and another one makes noise."""
    config = {"docker": {"base_url": rotating_podman.base_url, "interval": 3600,
                         "restart_loop_count": 100}}
    noisy = on_rotating.run(["sleep", "1000"])
    log = rotating_podman.dir / "tmp" / "events" / "events.log"
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        await streaming(agent)
        async with published(agent, "docker.container.*") as events:
            with Noise(noisy) as noise:
                def made() -> int:
                    return 2 * noise.pairs + 4 * (RETRIES + 1)

                looping = on_rotating.run(LOOPING, restart_policy={
                    "Name": "on-failure", "MaximumRetryCount": RETRIES})

                await settled(looping, restarts=RETRIES)
                # More noise after the loop, until the log filled up once more since and
                # three times in all: the rotations keep its newer half, which Podman
                # would send again.
                looped = made()

                def filled() -> bool:
                    return _fillings(log, made() - looped) >= 1 and \
                        _fillings(log, made()) >= 3

                await eventually(lambda: asyncio.to_thread(filled), timeout=60,
                                 interval=0.1)
            # The log did rotate: it holds fewer events than were made.
            assert _lines(log) < made(), (_lines(log), made())
            # A last event behind everything else: once it is in, so is any old event
            # Podman sent again before it.
            marker = on_rotating.run(["true"])
            await asyncio.to_thread(marker.wait, timeout=20)
            await asyncio.to_thread(marker.remove)
            await eventually(lambda: of(events, "docker.container.destroy", marker.name),
                             timeout=20, interval=0.1)
            dies = of(events, "docker.container.die", looping.name)
            assert len(dies) == RETRIES + 1, dies
            assert len(of(events, "docker.container.pause", noisy.name)) == noise.pairs
        result = await run_check(agent, "restarts")
        # The plugin's count is Podman's.
        assert result["metrics"]["restarts.max"] == RETRIES, result


async def test_a_die_event_carries_that_exit_code(nebula_agent, podman,
                                                  run_container) -> None:
    """Issue 15: the die events of a container its policy restarts said `running`, exit 0
    (its state once inspect answered), not how the run ended."""
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        await streaming(agent)
        async with published(agent, "docker.container.die") as events:
            looping = run_container(LOOPING, restart_policy={
                "Name": "on-failure", "MaximumRetryCount": 2})
            await eventually(lambda: len(of(events, "docker.container.die",
                                            looping.name)) == 3, timeout=30, interval=0.1)
        assert [d["exit_code"] for d in of(events, "docker.container.die", looping.name)] \
            == [3, 3, 3]
        await settled(looping, restarts=2)


async def settled(container: Any, restarts: int) -> None:
    """Until Podman is done with a looping container (cleaned up after its last run):
    removing it in between fails now and then ("container state improper")."""
    def done() -> bool:
        container.reload()
        return container.attrs["State"]["Status"] == "exited" and \
            container.attrs["RestartCount"] == restarts

    await eventually(lambda: asyncio.to_thread(done), timeout=30, interval=0.1)


async def test_an_admins_kills_and_starts_are_no_restart_loop(nebula_agent, podman, client,
                                                              run_container) -> None:
    """Issue 15: three manual kill/start cycles raised a critical restart loop. Only the
    restart policy's restarts count (Podman's RestartCount stays 0 through them)."""
    config = docker_config(podman, restart_loop_count=3, restart_loop_minutes=5)
    sleeper = run_container(["sleep", "1000"], restart_policy={"Name": "always"})
    async with nebula_agent(PLUGIN, config=config, agent={"flap_threshold": 1}) as agent:
        await streaming(agent)
        await row_of(agent, sleeper.name, state="running")
        for _ in range(3):
            await asyncio.to_thread(podman.podman, "kill", sleeper.name)
            await row_of(agent, sleeper.name, state="exited")
            await asyncio.to_thread(podman.podman, "start", sleeper.name)
            await row_of(agent, sleeper.name, state="running")
        await asyncio.to_thread(podman.podman, "restart", "--time", "0", sleeper.name)
        await row_of(agent, sleeper.name, state="running")
        assert client.api.inspect_container(sleeper.id)["RestartCount"] == 0
        result = await run_check(agent, "restarts")
        assert result["last_status"] == "ok", result
        assert result["metrics"]["restarts.max"] == 0

        # The policy's own restarts still make a loop.
        looping = run_container(LOOPING, restart_policy={
            "Name": "on-failure", "MaximumRetryCount": 3})

        async def loop_seen() -> dict[str, Any] | None:
            result = await run_check(agent, "restarts")
            return result if result["last_status"] == "critical" else None

        result = await eventually(loop_seen, timeout=30, interval=0.2)
        assert result["summary"] == f"Restart loop: {looping.name} (3 restarts in 5 min)"
        await settled(looping, restarts=3)
