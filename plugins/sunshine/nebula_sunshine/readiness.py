"""Is this host ready to stream: a GPU to encode on, uinput to inject input through, and
Sunshine's ports listening (docs/protocols/sunshine.md lists them)?

GPUs: `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` where NVIDIA's tool is
installed; otherwise the DRM cards the kernel lists under /sys/class/drm (vendor id, and
`gpu_busy_percent` where the amdgpu driver gives a load). Ports: the kernel's socket tables
(/proc/net/tcp, tcp6, udp, udp6), no connection made.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

VENDORS = {"0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel"}
NVIDIA_QUERY = "name,utilization.gpu,memory.used,memory.total"


def ports(base: int) -> dict[str, list[int]]:
    """Sunshine's ports from its `port` setting (47989 by default): HTTPS -5, HTTP +0,
    web UI +1, RTSP +21 on TCP; video +9, control +10, audio +11, mic +13 on UDP."""
    return {"tcp": [base - 5, base, base + 1, base + 21],
            "udp": [base + 9, base + 10, base + 11, base + 13]}


@dataclass(frozen=True)
class Gpu:
    name: str
    vendor: str
    load_percent: float | None = None
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None


@dataclass
class Readiness:
    gpus: list[Gpu] = field(default_factory=list)
    gpu_source: str = ""
    uinput: str = ""              # ok, missing, denied
    listening: dict[str, list[int]] = field(default_factory=dict)
    missing: dict[str, list[int]] = field(default_factory=dict)


def parse_nvidia(csv: str) -> list[Gpu]:
    gpus = []
    for line in csv.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 4:
            continue
        gpus.append(Gpu(cells[0], "NVIDIA", _number(cells[1]), _number(cells[2]),
                        _number(cells[3])))
    return gpus


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def drm_gpus(root: Path) -> list[Gpu]:
    gpus = []
    for card in sorted(root.glob("card[0-9]*")):
        if "-" in card.name:  # card0-HDMI-A-1: a connector, not a card
            continue
        device = card / "device"
        try:
            vendor = (device / "vendor").read_text().strip()
        except OSError:
            continue
        busy = device / "gpu_busy_percent"
        load = _number(busy.read_text()) if busy.exists() else None
        gpus.append(Gpu(card.name, VENDORS.get(vendor, vendor), load))
    return gpus


def _listening(kind: str) -> set[int]:
    found: set[int] = set()
    for table in (f"/proc/net/{kind}", f"/proc/net/{kind}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # TCP: state 0A is LISTEN; UDP: 07 is a bound socket.
            if len(fields) > 3 and fields[3] == ("0A" if kind == "tcp" else "07"):
                found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


def uinput_state(path: str) -> str:
    if not os.path.exists(path):
        return "missing"
    return "ok" if os.access(path, os.R_OK | os.W_OK) else "denied"


async def survey(drm: str, nvidia_smi: str, uinput: str, base: int,
                 timeout: float) -> Readiness:
    ready = Readiness()
    tool = shutil.which(nvidia_smi)
    if tool:
        proc = await asyncio.create_subprocess_exec(
            tool, f"--query-gpu={NVIDIA_QUERY}", "--format=csv,noheader,nounits",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            out = b""
        ready.gpus = parse_nvidia(out.decode(errors="replace"))
        ready.gpu_source = "nvidia-smi"
    if not ready.gpus:
        ready.gpus = await asyncio.to_thread(drm_gpus, Path(drm))
        ready.gpu_source = drm
    ready.uinput = uinput_state(uinput)
    wanted = ports(base)
    for kind, numbers in wanted.items():
        bound = await asyncio.to_thread(_listening, kind)
        ready.listening[kind] = [p for p in numbers if p in bound]
        ready.missing[kind] = [p for p in numbers if p not in bound]
    return ready
