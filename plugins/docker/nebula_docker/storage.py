"""Engine disk use (`df`) and the prune of stopped containers, unused images and (only when
asked) unused volumes.

A prune is a plan first: `plan` lists the items (kind, id, name, size) a prune would
remove; the dry run shows it, and the approval of a real prune is for exactly that list.
`execute` then removes only listed items that are still unused, checking each against the
engine again, so nothing made or taken into use after the request goes. Item by item keeps
"what would go" and "what went" the same on every engine (Docker 23+ prunes only anonymous
volumes, Podman all unused ones; Podman answers 500 to an image prune with
`dangling=false`).

What is never planned:
- volumes, unless the request says `volumes: true`: a named volume that `compose down`
  left behind holds data;
- an image any container uses, stopped ones included (Podman lists such an image as
  dangling): it goes on a later prune, once the approver saw the container go first;
- one-click database deployments (labelled `nebula.docker.template`): a stopped database
  and its volume are data, not litter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from nebula_docker.model import TEMPLATE_LABEL

if TYPE_CHECKING:
    import docker

# Podman lists a container that exited but is not cleaned up yet as `stopped`.
STOPPED = ("exited", "created", "dead", "stopped")


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
    # A volume's creation time: its name is its only id, and a volume made again under the
    # same name after the request is another volume.
    created: str = ""


KINDS = ("container", "image", "volume")


def _images_in_use(client: docker.DockerClient) -> set[str]:
    return {c.get("ImageID") or "" for c in client.api.containers(all=True)}


def _unused_volumes(client: docker.DockerClient) -> dict[str, dict[str, Any]]:
    return {v["Name"]: v for v in
            client.api.volumes(filters={"dangling": True}).get("Volumes") or []
            if TEMPLATE_LABEL not in (v.get("Labels") or {})}


def plan(client: docker.DockerClient, volumes: bool = False) -> list[Item]:
    """What a prune would remove now; changes nothing."""
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
    in_use = _images_in_use(client)
    for image in client.api.images(filters={"dangling": True}):
        if image["Id"] in in_use:
            continue
        items.append(Item("image", image["Id"], image["Id"].removeprefix("sha256:")[:12],
                          _size(image.get("Size"))))
    if volumes:
        for name, volume in _unused_volumes(client).items():
            items.append(Item("volume", name, name, volume_sizes.get(name, 0),
                              str(volume.get("CreatedAt") or "")))
    return items


def preview(items: list[Item], volumes: bool) -> dict[str, Any]:
    """The plan as the approver (and the dry run) shows it; `items_of` reads it back."""
    return {"volumes": volumes, "would_remove": [asdict(i) for i in items],
            "reclaimable_bytes": sum(i.size for i in items), "counts": _counts(items)}


def items_of(prepared: Mapping[str, Any]) -> list[Item]:
    """The items of a prepared prune; anything else is refused rather than guessed at."""
    listed = prepared.get("would_remove")
    if not isinstance(listed, list):
        raise ValueError("this prune has no prepared plan; nothing was removed")
    return [Item(**item) for item in listed]


def _counts(items: list[Item]) -> dict[str, int]:
    return {kind: sum(1 for i in items if i.kind == kind) for kind in KINDS}


def _unused_reason(client: docker.DockerClient, item: Item) -> str | None:
    """Why `item` must stay now (None: still unused, it may go)."""
    from docker.errors import NotFound  # on a client: the SDK is loaded (engine.py)

    try:
        if item.kind == "container":
            status = client.api.inspect_container(item.id)["State"]["Status"]
            return None if status in STOPPED else f"it is {status} now"
        if item.kind == "image":
            client.api.inspect_image(item.id)
            return "a container uses it now" if item.id in _images_in_use(client) else None
        volume = _unused_volumes(client).get(item.id)
        if volume is None:
            client.api.inspect_volume(item.id)  # NotFound when it is gone
            return "a container uses it now"
        if item.created and str(volume.get("CreatedAt") or "") != item.created:
            return "it was made again after the request"
        return None
    except NotFound:
        return "it is gone already"


def execute(client: docker.DockerClient, items: list[Item]) -> dict[str, Any]:
    """Remove each planned item that is still unused (containers first, so nothing else
    changes under the check); what was kept says why, what the engine refused says that."""
    from docker.errors import APIError, NotFound
    removed: list[Item] = []
    skipped: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for item in sorted(items, key=lambda i: KINDS.index(i.kind)):
        if reason := _unused_reason(client, item):
            skipped.append({**asdict(item), "reason": reason})
            continue
        try:
            # Never forced: the engine itself refuses a running container, an image or a
            # volume in use, should one be taken into use after the check.
            if item.kind == "container":
                client.api.remove_container(item.id)
            elif item.kind == "image":
                client.api.remove_image(item.id)
            else:
                client.api.remove_volume(item.id)
        except NotFound:
            skipped.append({**asdict(item), "reason": "it is gone already"})
        except APIError as exc:
            failed[item.id] = str(exc.explanation or exc)
        else:
            removed.append(item)
    return {"dry_run": False, "removed": [asdict(i) for i in removed],
            "reclaimed_bytes": sum(i.size for i in removed), "counts": _counts(removed),
            "skipped": skipped, "failed": failed}
