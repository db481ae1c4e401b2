"""A knock before loading the docker SDK: does anything accept a connection where a
Docker-API engine (Docker Engine, or Podman's compatible service) should listen?

The SDK with requests, urllib3 and charset_normalizer costs about 6 MB resident and 0.1 s;
a plugin whose engine is absent should not carry it for nothing. Such a plugin knocks first
(a plain socket connect, then hang up) and imports the SDK only once a knock is answered:

    from nebula.helpers.dockerapi import knock
    knock(base_url, timeout)   # OSError when nothing accepts there
    import docker              # something listens: the SDK is worth loading now
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

DEFAULT_URL = "unix:///var/run/docker.sock"


def engine_url(base_url: str = "") -> str:
    """The address the SDK's `from_env()` would use when none is configured."""
    return base_url or os.environ.get("DOCKER_HOST", "") or DEFAULT_URL


def knock(base_url: str, timeout: float) -> None:
    """Connect to where the engine at `base_url` (`unix:///run/x.sock`, `tcp://host:2375`,
    `https://host:2376`; empty: `engine_url()`) should listen and hang up; OSError when
    nothing accepts there. Schemes only the SDK knows (ssh://) are left to it: no knock."""
    scheme, _, rest = engine_url(base_url).partition("://")
    if scheme in ("unix", "http+unix"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(rest)  # unix:///run/x.sock: the path is /run/x.sock
        return
    if scheme not in ("tcp", "http", "https"):
        return
    parts = urlsplit(f"//{rest}")
    port = parts.port or (2376 if scheme == "https" else 2375)  # the engine's defaults
    with socket.create_connection((parts.hostname or "", port), timeout=timeout):
        pass
