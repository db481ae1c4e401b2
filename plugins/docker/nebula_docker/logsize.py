"""How much disk a container's log takes. Engines count none of it in `df` (Docker's
json-file and Podman's k8s-file logs live beside the container, outside its writable
layer), so a chatty container filled the disk while the disk check said 0.00 GB (issue 15:
a 435 MB log). Inspect names the file (`LogPath`); its size is read on this host, which is
the engine's only when the engine is reached over its unix socket."""

from __future__ import annotations

import glob
import os


def local(base_url: str) -> bool:
    """Whether paths the engine names are paths on this host."""
    return base_url.startswith(("unix://", "http+unix://"))


def size(path: str) -> int | None:
    """Bytes of the log at `path` and of its rotated files (Docker's json-file keeps
    `<path>.1`, `<path>.2.gz`, ... with max-file); None when there is no file to measure
    (no LogPath, or one this user may not read)."""
    if not path:
        return None
    try:
        total = os.stat(path).st_size
    except OSError:
        return None
    for rotated in glob.glob(glob.escape(path) + ".*"):
        try:
            total += os.stat(rotated).st_size
        except OSError:
            continue  # rotated away meanwhile
    return total
