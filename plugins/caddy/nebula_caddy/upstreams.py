"""Whether the agent can open a TCP connection to an upstream: a second opinion beside
Caddy's own counters (Caddy 2.6's `/reverse_proxy/upstreams` gives only requests in
flight and recent failures, no active health check result)."""

from __future__ import annotations

import asyncio

from nebula.helpers.net import reason

PLACEHOLDER = "{"


async def reach(dial: str, timeout: float) -> str | None:
    """None when `dial` (host:port) accepts a connection, else why not in words; a dial
    address the agent cannot try (unix socket, placeholder) is None too."""
    if dial.startswith("unix/") or PLACEHOLDER in dial:
        return None
    host, _, port = dial.rpartition(":")
    host = host.strip("[]")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    except asyncio.TimeoutError:
        return f"no connection within {timeout:g}s"
    except ConnectionRefusedError:
        # asyncio words it "Connect call failed (addr)" with no strerror of its own.
        return "connection refused"
    except OSError as exc:
        return reason(exc)
    writer.close()
    return None
