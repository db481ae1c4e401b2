"""Engine disk use (`df`) and the prune of stopped containers, dangling images and unused
volumes.

A prune is planned first and the plan is what runs: the dry run shows the plan, the real run
makes a fresh one and removes exactly its items, one by one. That keeps "what would go" and
"what went" the same on every engine (Docker 23+ prunes only anonymous volumes, Podman all
unused ones; Podman answers 500 to an image prune with `dangling=false`). One-click database
deployments (labelled `nebula.docker.template`) are never pruned: a stopped database and its
volume are data, not litter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import docker
from docker.errors import APIError, NotFound

from nebula_docker.model import TEMPLATE_LABEL

STOPPED = ("exited", "created", "dead")


def _size(value: Any) -> int:
    # Docker reports -1 where it did not compute a size.
    return int(value) if isinstance(value, int | float) and value > 0 else 0


def usage(df: Mapping[str, Any]) -> dict[str, int]:
    """Bytes per kind (images, containers, volumes, build cache) and what prune could free."""
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []
    # LayersSize counts shared layers once; Podman leaves it 0.
    image_bytes = _size(df.get("LayersSize")) or sum(_size(i.get("Size")) for i in images)
    volume_bytes = sum(_size((v.get("UsageData") or {}).get("Size")) for v in volumes)
    reclaimable = (
        sum(_size(i.get("Size")) - _size(i.get("SharedSize")) for i in images
            if not i.get("Containers"))
        + sum(_size(c.get("SizeRw")) for c in containers if c.get("State") in STOPPED)
        + sum(_size((v.get("UsageData") or {}).get("Size")) for v in volumes
              if (v.get("UsageData") or {}).get("RefCount") == 0)
        + sum(_size(b.get("Size")) for b in cache if not b.get("InUse")))
    return {"images": image_bytes,
            "containers": sum(_size(c.get("SizeRw")) for c in containers),
            "volumes": volume_bytes,
            "build_cache": sum(_size(b.get("Size")) for b in cache),
            "reclaimable": max(0, reclaimable),
            "image_count": len(images), "container_count": len(containers),
            "volume_count": len(volumes)}


@dataclass(frozen=True)
class Item:
    kind: str  # container, image, volume
    id: str
    name: str
    size: int


def plan(client: docker.DockerClient) -> list[Item]:
    df = client.api.df()
    sizes = {c["Id"]: _size(c.get("SizeRw")) for c in df.get("Containers") or []}
    volume_sizes = {v["Name"]: _size((v.get("UsageData") or {}).get("Size"))
                    for v in df.get("Volumes") or []}
    items = []
    # Filtered here: Podman refuses the `dead` status filter.
    for c in client.api.containers(all=True):
        if c.get("State") not in STOPPED or TEMPLATE_LABEL in (c.get("Labels") or {}):
            continue
        name = (c.get("Names") or [c["Id"][:12]])[0].lstrip("/")
        items.append(Item("container", c["Id"], name, sizes.get(c["Id"], 0)))
    for image in client.api.images(filters={"dangling": True}):
        items.append(Item("image", image["Id"], image["Id"].removeprefix("sha256:")[:12],
                          _size(image.get("Size"))))
    for volume in client.api.volumes(filters={"dangling": True}).get("Volumes") or []:
        if TEMPLATE_LABEL in (volume.get("Labels") or {}):
            continue
        items.append(Item("volume", volume["Name"], volume["Name"],
                          volume_sizes.get(volume["Name"], 0)))
    return items


def summary(items: list[Item], removed: bool, failed: Mapping[str, str] | None = None,
            ) -> dict[str, Any]:
    done = [i for i in items if not failed or i.id not in failed]
    key = "removed" if removed else "would_remove"
    return {"dry_run": not removed,
            key: [asdict(i) for i in done],
            "reclaimed_bytes" if removed else "reclaimable_bytes": sum(i.size for i in done),
            "counts": {kind: sum(1 for i in done if i.kind == kind)
                       for kind in ("container", "image", "volume")},
            "failed": dict(failed or {})}


def execute(client: docker.DockerClient) -> dict[str, Any]:
    """Plan, then remove each planned item; one that went in use meanwhile is reported."""
    items = plan(client)
    failed: dict[str, str] = {}
    for item in items:
        try:
            if item.kind == "container":
                client.api.remove_container(item.id)
            elif item.kind == "image":
                client.api.remove_image(item.id)
            else:
                client.api.remove_volume(item.id)
        except NotFound:
            pass  # gone already: that is what we wanted
        except APIError as exc:
            failed[item.id] = str(exc.explanation or exc)
    return summary(items, removed=True, failed=failed)
