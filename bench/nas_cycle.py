"""Issue 21 targets for the nas plugin, on loopback against a real Samba (Debian `samba`):

- a check cycle of 5 shares (volume query + 4 KiB probe file written, read back, removed,
  over one SMB connection) p95 <= 200 ms;
- a stale mount costs the loop nothing: event-loop lag p99 < 50 ms while the mount poll's
  child hangs on a stalled sshfs mount (CIFS cannot be mounted here: no kernel module).

Run as root (smbd, useradd, sshd, FUSE): `.venv/bin/python bench/nas_cycle.py [--cycles N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins" / "nas" / "tests")]

from nas_samba import USER, samba_server  # noqa: E402
from nas_sshfs import sshfs_mount  # noqa: E402

from nebula_nas.coordinator import NasRuntime  # noqa: E402


class Log:
    def __getattr__(self, name: str):  # a structlog-like sink that drops everything
        return lambda *a, **k: None


def config(port: int, password: str, **extra: object) -> dict[str, object]:
    return {"server": "127.0.0.1", "port": port, "username": USER, "password": password,
            "encrypt": False, "timeout": 5, "interval": 60, "probe_size": 4096,
            "probe_warning_ms": 1000, "mounts": [], "mount_types": ["cifs", "nfs"],
            "mount_timeout": 2, **extra}


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def share_cycles(port: int, password: str, cycles: int) -> list[float]:
    runtime = NasRuntime(config(port, password, shares=[{"name": f"s{i}"} for i in range(5)]),
                         Log(), lambda _: None)
    try:
        await runtime.shares.refresh()   # connect once, as the running agent has
        times = []
        for _ in range(cycles):
            started = time.perf_counter()
            readings = await runtime.shares.refresh()
            times.append((time.perf_counter() - started) * 1000)
            assert all(r.probe and r.probe.write_ms for r in readings.values()), readings
        return times
    finally:
        await runtime.aclose()


async def stale_lag(mountpoint: Path, polls: int) -> tuple[list[float], list[str]]:
    runtime = NasRuntime(config(0, "x", shares=[], mounts=[{"path": str(mountpoint)}],
                                mount_types=["fuse.sshfs"]), Log(), lambda _: None)
    lags: list[float] = []
    states: list[str] = []

    async def ticker() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - started - 0.01) * 1000)

    task = asyncio.create_task(ticker())
    try:
        for _ in range(polls):
            states += [s.state for s in await runtime.mounts.refresh()]
    finally:
        task.cancel()
        await runtime.aclose()
    return lags, states


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--stale-polls", type=int, default=5)
    args = parser.parse_args()
    password = "pw-" + secrets.token_urlsafe(10)
    with samba_server(password) as samba:
        for i in range(5):
            samba.add_share(f"s{i}")
        samba.start()
        times = await share_cycles(samba.port, password, args.cycles)
    print(f"5-share cycle over {len(times)} cycles: p50 {statistics.median(times):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms (target p95 <= 200 ms)")
    with tempfile.TemporaryDirectory() as tmp, sshfs_mount(Path(tmp)) as mount:
        mount.stall()
        lags, states = await stale_lag(mount.mountpoint, args.stale_polls)
    print(f"stale mount: {args.stale_polls} polls ({set(states)}), {len(lags)} loop ticks: "
          f"lag p50 {statistics.median(lags):.2f} ms, p99 {pct(lags, 99):.2f} ms, "
          f"max {max(lags):.2f} ms (target p99 < 50 ms)")


if __name__ == "__main__":
    print("load:", Path("/proc/loadavg").read_text().strip())
    asyncio.run(main())
