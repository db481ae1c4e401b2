"""Helpers the nas tests share (a module of its own: `conftest` is not importable by name
when several plugins' test folders run together)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from nas_samba import USER, Samba

from nebula_nas.coordinator import NasRuntime

TINY_KIB = 2048   # the tmpfs share


def runtime_of(agent: Any) -> NasRuntime:
    runtime = agent.agent.manager.records["nas"].ctx.runtime
    assert isinstance(runtime, NasRuntime)
    return runtime


async def fresh_check(agent: Any, name: str) -> dict[str, Any]:
    """Run a check on a new poll (the runtime keeps a poll for interval / 2)."""
    runtime = runtime_of(agent)
    runtime.shares.invalidate()
    runtime.mounts.invalidate()
    result: dict[str, Any] = await agent.run_check(name)
    return result


def smb_get(samba: Samba, share: str, remote: str, local: Path) -> bytes:
    """Read a file back with Samba's own client, independent of the plugin's."""
    subprocess.run(["smbclient", "-p", str(samba.port), f"//127.0.0.1/{share}",
                    "-U", f"{USER}%{samba.password}", "-c", f"get {remote} {local}"],
                   check=True, capture_output=True)
    return local.read_bytes()
