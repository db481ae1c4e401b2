"""The logs route passes every byte through the agent's redaction: a real container on
Podman that prints a password the agent knows from its config never shows it to a viewer or
an admin, read at once or followed.

A secret cut across two chunks of the stream is the StreamRedactor's to catch (its own test
is in tests/test_plugin_route_redaction.py); it cannot be staged here, because Podman moves
the newline of a line written in two parts (tail and follow answer "a" + "b" as "a\nb"),
which no redaction can join again.
"""

from __future__ import annotations

import asyncio

from docker_agent import PLUGIN, docker_config

from tests.waiting import eventually

SECRET = "pg-Sup3r-s3cret-from-config"
SCRIPT = ('echo "connecting to postgres://app:$PW@db/app"; echo "retry with $PW"; '
          'echo done; sleep 1000')


async def test_the_logs_route_never_shows_a_known_secret(nebula_agent, podman,
                                                         run_container) -> None:
    # The password of the postgres plugin's section: a config secret, known to the agent.
    config = {**docker_config(podman), "postgres": {"enabled": False, "password": SECRET}}
    chatty = run_container(["sh", "-c", SCRIPT], environment={"PW": SECRET})
    async with nebula_agent(PLUGIN, config=config) as agent:
        status, viewer = await agent.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
        assert status in (200, 201), viewer
        url = f"/plugins/docker/containers/{chatty.name}/logs"

        async def finished() -> str | None:
            _, text = await agent.get(url)
            return text if text.endswith("done\n") else None

        await eventually(finished, timeout=10, interval=0.1)
        expected = ["connecting to postgres://app:***@db/app", "retry with ***", "done"]
        for token in (agent.token, viewer["token"]):
            status, text = await agent.get(url, token=token)
            assert status == 200 and text.splitlines() == expected, text
            headers = {"Authorization": f"Bearer {token}"}
            async with agent.session.get(f"{agent.url}{url}?follow=1&tail=10",
                                         headers=headers) as resp:
                assert resp.status == 200
                lines: list[bytes] = []
                while not lines or lines[-1] != b"done\n":
                    lines.append(await asyncio.wait_for(resp.content.readline(), 10))
            assert b"".join(lines).decode().splitlines() == expected
        # The action says the same (it always went through the runner's redaction).
        _, body = await agent.post("/api/v1/actions/docker.logs/run",
                                   {"params": {"container": chatty.name}})
        assert body["result"]["lines"] == expected and SECRET not in str(body)
