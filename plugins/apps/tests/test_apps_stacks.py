"""Compose stacks through a real compose implementation (Debian's podman-compose) on the
session's Podman engine: each service's state and drift from the file, and up/down as
approved plans naming the exact command."""

from __future__ import annotations

import shutil
import uuid

import pytest

from tests.engines.podman import IMAGE

pytestmark = pytest.mark.e2e


def compose_file(path, worker_image: str = IMAGE) -> None:
    path.write_text(f"""services:
  web:
    image: {IMAGE}
    command: ["httpd", "-f", "-p", "8080"]
  worker:
    image: {worker_image}
    command: ["sleep", "600"]
""")


@pytest.fixture
def compose(podman, tmp_path) -> dict:
    """podman-compose driving the session's engine: its podman CLI with the engine's
    storage (a wrapper passed as --podman-path) and containers.conf."""
    wrapper = tmp_path / "podman"
    wrapper.write_text(f"#!/bin/sh\nexec {shutil.which('podman')} --root {podman.dir / 'root'}"
                       f" --runroot {podman.dir / 'runroot'} \"$@\"\n")
    wrapper.chmod(0o755)
    return {"compose": ["podman-compose", "--podman-path", str(wrapper)],
            "compose_env": {"CONTAINERS_CONF": podman.env["CONTAINERS_CONF"]}}


async def test_a_stack_shows_drift_and_goes_up_and_down_through_podman_compose(
        start_apps, compose, client, tmp_path) -> None:
    name = f"st{uuid.uuid4().hex[:6]}"
    file = tmp_path / "docker-compose.unified.yml"
    compose_file(file)
    async with start_apps(stacks=[{"name": name, "file": str(file)}], **compose) as agent:
        async def drift() -> dict:
            return {r["service"]: r["drift"] for r in await agent.panel("apps.stacks")}

        assert await drift() == {"web": "not created", "worker": "not created"}
        pending = await agent.run_action("apps.stack", {"stack": name, "command": "up"},
                                         expect=202)
        plan = pending["approval"]["plan"]
        assert plan["runs"] == [*compose["compose"], "-f", str(file), "-p", name, "up", "-d"]
        assert plan["services"] == {"web": "not created", "worker": "not created"}
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert await drift() == {"web": "in sync", "worker": "in sync"}
        check = await agent.run_check("apps.stacks")
        assert check["last_status"] == "ok"
        assert check["summary"] == ("2 service(s) as their files say (compose: "
                                    f"{' '.join(compose['compose'])})")

        # The file moves on, and a container is stopped by hand: both show as drift.
        compose_file(file, worker_image="localhost/busybox:next")
        client.containers.get(f"{name}_web_1").stop(timeout=0)
        assert await drift() == {
            "web": "not running (exited)",
            "worker": f"runs {IMAGE}, file says localhost/busybox:next"}
        assert (await agent.run_check("apps.stacks"))["last_status"] == "warning"

        compose_file(file)
        pending = await agent.run_action("apps.stack", {"stack": name, "command": "down"},
                                         expect=202)
        assert (await agent.approve(pending["approval"]["id"]))["status"] == "ok"
        assert await drift() == {"web": "not created", "worker": "not created"}
        assert not client.containers.list(all=True, filters={
            "label": f"com.docker.compose.project={name}"})

        status, body = await agent.post("/api/v1/actions/apps.stack/run", {"params": {
            "stack": "nope", "command": "up"}})
        assert status == 422 and "no stack 'nope'" in str(body)
