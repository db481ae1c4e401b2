"""Prune on a real Podman engine keeps data unless asked: named volumes go only with
`volumes: true` (shown in red in the web panel), an image a stopped container uses stays,
and an approved prune removes only the items its approver saw that are still unused."""

from __future__ import annotations

import contextlib
import re

from docker_agent import PLUGIN, approved, docker_config, run_action

FIVE_MB = 5_000_000


def _names(items: list[dict]) -> set[tuple[str, str]]:
    return {(i["kind"], i["name"]) for i in items}


def _compose_down_leftover(client, run_container) -> str:
    """A named volume holding 5 MB whose container is gone, as `compose down` leaves it."""
    volume = f"{run_container.prefix}-pgdata"
    writer = run_container(["sh", "-c", "seq 1 800000 > /data/rows"],
                           volumes={volume: {"bind": "/data", "mode": "rw"}})
    assert writer.wait(timeout=30)["StatusCode"] == 0
    writer.remove()
    return volume


def _image_of_a_stopped_container(client, podman, run_container) -> tuple[str, str]:
    """An untagged image that only a stopped container uses (the image of a service that
    was rebuilt since): Podman lists it as dangling all the same."""
    base = run_container(["sh", "-c", "echo v1 > /version"])
    base.wait(timeout=10)
    repository = f"localhost/{run_container.prefix}"
    image = base.commit(repository=repository, tag="old")
    user = client.containers.run(f"{repository}:old", ["true"],
                                 name=f"{run_container.prefix}-old", detach=True)
    user.wait(timeout=10)
    podman.podman("untag", f"{repository}:old")
    return image.id, user.name


async def test_a_default_prune_keeps_volumes_and_images_stopped_containers_use(
        nebula_agent, podman, client, run_container) -> None:
    volume = _compose_down_leftover(client, run_container)
    image, user = _image_of_a_stopped_container(client, podman, run_container)
    try:
        async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
            status, body = await run_action(agent, "prune_preview")
            assert status == 200 and body["status"] == "ok", body
            preview = body["result"]
            assert preview["volumes"] is False and preview["counts"]["volume"] == 0
            assert ("container", user) in _names(preview["would_remove"])
            assert image not in {i["id"] for i in preview["would_remove"]}

            outcome = await approved(agent, "prune")
            assert outcome["status"] == "ok", outcome
            assert ("container", user) in _names(outcome["result"]["removed"])
            # The data survived, and so did the image of the stopped container.
            assert volume in {v.name for v in client.volumes.list()}
            assert client.images.get(image).id == image

            # Only now, with its container gone, is the image listed; the volume only with
            # the flag, at its real size.
            _, body = await run_action(agent, "prune_preview", {"volumes": True})
            listed = {i["id"]: i for i in body["result"]["would_remove"]}
            assert image in listed
            assert listed[volume]["kind"] == "volume" and listed[volume]["size"] >= FIVE_MB
            outcome = await approved(agent, "prune", {"volumes": True})
            assert outcome["status"] == "ok", outcome
            assert {volume, image} <= {i["id"] for i in outcome["result"]["removed"]}
            assert volume not in {v.name for v in client.volumes.list()}
    finally:
        podman.podman("rmi", "--force", image, check=False)
        with contextlib.suppress(Exception):
            client.volumes.get(volume).remove()


async def test_an_approved_prune_removes_only_what_the_approver_saw_still_unused(
        nebula_agent, podman, client, run_container) -> None:
    prefix = run_container.prefix
    stopped = run_container(["true"])
    stopped.wait(timeout=10)
    revived = run_container(["sleep", "1000"])
    revived.stop(timeout=0)
    unused = client.volumes.create(f"{prefix}-unused").name
    taken = client.volumes.create(f"{prefix}-taken").name
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, body = await run_action(agent, "prune", {"volumes": True})
        assert status == 202 and body["status"] == "pending_approval", body
        # The approver sees the exact items (ids, names, sizes), not `{}`.
        plan = body["approval"]["plan"]
        assert plan["volumes"] is True
        planned = {i["id"]: i for i in plan["would_remove"]}
        assert {stopped.id, revived.id, unused, taken} <= set(planned)
        assert planned[stopped.id] == {"kind": "container", "id": stopped.id,
                                       "name": stopped.name, "size": planned[stopped.id][
                                           "size"], "created": ""}

        # Between the request and the approval: new litter appears, and two planned items
        # are taken into use again.
        late = run_container(["true"])
        late.wait(timeout=10)
        late_volume = client.volumes.create(f"{prefix}-late").name
        revived.start()
        run_container(["sleep", "1000"], volumes={taken: {"bind": "/t", "mode": "rw"}})

        status, outcome = await agent.post(
            f"/api/v1/approvals/{body['approval']['id']}/approve")
        assert status == 200 and outcome["status"] == "ok", outcome
        result = outcome["result"]
        removed = {i["id"] for i in result["removed"]}
        assert {stopped.id, unused} <= removed
        assert not removed - set(planned)
        skipped = {i["id"]: i["reason"] for i in result["skipped"]}
        assert skipped[revived.id] == "it is running now"
        assert skipped[taken] == "a container uses it now"
        assert result["failed"] == {}

    containers = {c.id for c in client.containers.list(all=True)}
    assert late.id in containers and revived.id in containers
    assert stopped.id not in containers
    volumes = {v.name for v in client.volumes.list()}
    assert {late_volume, taken} <= volumes and unused not in volumes


async def test_the_volumes_flag_is_shown_in_red(nebula_agent, podman) -> None:
    async with nebula_agent(PLUGIN, config=docker_config(podman)) as agent:
        status, page = await agent.get("/plugin/docker")
        assert status == 200
        forms = dict(re.findall(r'<form class="action glass" data-action="([^"]+)"(.*?)</form>',
                                page, re.S))
        prune = forms["docker.prune"]
        assert prune.count('<div class="field danger">') == 1, prune
        danger = prune.split('<div class="field danger">')[1].split("</small></div>")[0]
        assert "Dangerous" in danger and 'name="volumes"' in danger
        # The checkbox is off unless the admin ticks it; the dry run is not red.
        assert 'data-type="boolean">' in danger
        assert 'name="volumes"' in forms["docker.prune_preview"]
        assert "danger" not in forms["docker.prune_preview"]
        status, css = await agent.get("/static/nebula.css")
        assert status == 200 and ".field.danger" in css
