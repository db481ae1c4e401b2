"""Deploying apps from templates on a real Podman engine: one approved plan, run step by
step, undone entirely when any step fails; remove keeps the data unless asked."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import pytest

from tests.agent_process import free_port
from tests.app_template import WEB

pytestmark = pytest.mark.e2e


def leftovers(client, app: str) -> dict:
    """Everything of `app` on the engine: containers by name, volumes by name prefix."""
    containers = [c.name for c in client.containers.list(all=True) if c.name == app]
    volumes = [v.name for v in client.volumes.list() if v.name.startswith(f"{app}-")]
    return {"containers": containers, "volumes": volumes}


def runtime_of(agent):
    return agent.agent.manager.records["apps"].ctx.runtime


async def deploy(agent, **params) -> dict:
    pending = await agent.run_action("apps.deploy", params, expect=202)
    return pending["approval"]


async def test_deploy_runs_the_plan_and_remove_keeps_the_data_unless_asked(
        start_apps, client) -> None:
    app, port = f"web-{uuid.uuid4().hex[:6]}", free_port()
    async with start_apps() as agent:
        approval = await deploy(agent, template="web", name=app, port=port)
        plan = approval["plan"]
        assert plan["steps"] == [
            "secret TOKEN (24 random bytes, kept in the secret store)",
            f"volume {app}-site at /srv",
            f"container {app} from localhost/busybox:test, port 8080 on 127.0.0.1:{port}",
            f"wait until http://127.0.0.1:{port}/ answers (at most 20 s)"]
        done = await agent.approve(approval["id"])
        assert done["status"] == "ok", done
        assert done["result"]["url"] == f"http://127.0.0.1:{port}/"

        runtime = runtime_of(agent)
        token = await runtime.ctx.secrets.get(f"{app}.TOKEN")
        assert token and len(token) >= 24
        env = client.containers.get(app).attrs["Config"]["Env"]
        assert f"TOKEN={token}" in env and "GREETING=hello" in env
        assert token not in json.dumps(done) and token not in json.dumps(approval)
        assert leftovers(client, app) == {"containers": [app], "volumes": [f"{app}-site"]}

        rows = await agent.panel("apps.apps")
        assert [(r["app"], r["state"], r["answer"]) for r in rows] == [
            (app, "running", "HTTP 404")]  # httpd on an empty folder: it answers
        check = await agent.run_check("apps.health")
        assert check["last_status"] == "ok"

        # Remove: the container goes, the data stays.
        removal = (await agent.run_action("apps.remove", {"name": app}, expect=202))
        assert removal["approval"]["plan"]["steps"] == [
            f"remove container {app}", f"keep volume {app}-site", "keep secret TOKEN"]
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert leftovers(client, app) == {"containers": [], "volumes": [f"{app}-site"]}
        assert await runtime.ctx.secrets.get(f"{app}.TOKEN") == token

        # Deployed again it takes its kept volume and secret back.
        approval = await deploy(agent, template="web", name=app, port=port)
        assert (await agent.approve(approval["id"]))["status"] == "ok"
        assert f"TOKEN={token}" in client.containers.get(app).attrs["Config"]["Env"]

        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert leftovers(client, app) == {"containers": [], "volumes": []}
        assert await runtime.ctx.secrets.get(f"{app}.TOKEN") is None
        assert await agent.panel("apps.apps") == []


def template(templates_dir, name: str, **changes: str) -> None:
    text = WEB.replace('name = "web"', f'name = "{name}"')
    for old, new in changes.items():
        text = text.replace(old, new)
    (templates_dir / f"{name}.toml").write_text(text)


class Taken:
    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()


@pytest.mark.parametrize(("case", "failed_step", "why"), [
    ("image_missing", "container", "is not on the engine"),
    ("port_taken", "container", "address already in use"),
    ("container_exits", "health", "the container exited"),
    ("never_healthy", "health", "not healthy within 2 s"),
    ("volume_of_someone_else", "volume", "exists and is not"),
])
async def test_a_failing_step_undoes_every_step_done(start_apps, client, templates_dir,
                                                     case, failed_step, why) -> None:
    app, port = f"bad-{uuid.uuid4().hex[:6]}", free_port()
    changes = {
        "image_missing": {"localhost/busybox:test": "localhost/nothing:here"},
        "container_exits": {'["httpd", "-f", "-p", "8080", "-h", "/srv"]': '["false"]'},
        "never_healthy": {'["httpd", "-f", "-p", "8080", "-h", "/srv"]': '["sleep", "600"]',
                          "timeout = 20": "timeout = 2"},
    }.get(case, {})
    template(templates_dir, "broken", **changes)
    foreign = None
    if case == "volume_of_someone_else":
        foreign = client.volumes.create(f"{app}-site")  # someone's data, no app label
    taken = None
    async with start_apps() as agent:
        approval = await deploy(agent, template="broken", name=app, port=port)
        if case == "port_taken":
            taken = Taken(port)  # after the plan: the run finds it taken
        try:
            done = await agent.approve(approval["id"])
        finally:
            if taken:
                taken.sock.close()
        assert done["status"] == "error", done
        error = done["error"]
        assert f"{failed_step} " in error and why in error and "rolled back in " in error, error
        runtime = runtime_of(agent)
        assert await runtime.ctx.secrets.get(f"{app}.TOKEN") is None
        assert await runtime.apps() == {}
        left = await asyncio.to_thread(leftovers, client, app)
        if foreign is not None:
            assert left == {"containers": [], "volumes": [f"{app}-site"]}  # untouched
            foreign.remove()
        else:
            assert left == {"containers": [], "volumes": []}, left
