"""systemd's notification protocol (sd_notify(3)): readiness and the watchdog.

Under a `Type=notify` unit systemd sets `NOTIFY_SOCKET` (a unix datagram socket; a leading
`@` means the abstract namespace) and, with `WatchdogSec=`, `WATCHDOG_USEC` (and
`WATCHDOG_PID`). A notification is one datagram of `KEY=value` lines. That is a dozen
lines of the standard library, so no dependency: the PyPI `sdnotify` package does the same
but has not been released since 2017, and `systemd-python` is a C extension that needs
libsystemd's headers and a compiler to install. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import asyncio
import os
import socket


def notify(*fields: str) -> bool:
    """Send `fields` (e.g. "READY=1") to the service manager; False when there is none or
    it cannot be reached (the agent runs on regardless: a notification is advisory)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif not address.startswith("/"):  # unset, or a vsock address (VMs), which we skip
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between keep-alives (half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    advises), or None when no watchdog watches this process."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2 / 1_000_000


async def keep_alive() -> None:
    """Send WATCHDOG=1 at the watchdog's half-interval for as long as the event loop runs
    it, so a loop that stops turning is what systemd sees and restarts."""
    interval = watchdog_interval()
    while interval is not None:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
