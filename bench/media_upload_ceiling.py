"""The ceiling of an HTTP upload on this machine, beside cp + sync (issue 21): an aiohttp
server that reads the body as the media plugin does (`readany`) and throws it away, curl -T
as the client, paired with `cp` + `sync FILE` of the same file as in bench/media_upload.py.
No upload that writes the file can beat this; when this is under 80 % of cp + sync, so is
the upload, whatever the plugin does.

    .venv/bin/python bench/media_upload_ceiling.py [--gib 2] [--pairs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from media_upload import MB, make_source, settle, timed_cp
from processes import scratch


async def discard(request: web.Request) -> web.Response:
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
    return web.Response(text=str(size))


async def curl(port: int, source: Path) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-X", "POST", "-T", str(source), "-o", "/dev/null", "-H", "Expect:",
        "-H", "Content-Type: application/octet-stream", f"http://127.0.0.1:{port}/upload")
    assert await proc.wait() == 0
    return time.perf_counter() - started


async def run(args: argparse.Namespace, root: Path) -> None:
    size = int(args.gib * (1 << 30))
    source = root / "source.mkv"
    make_source(source, size)
    app = web.Application()
    app.router.add_post("/upload", discard)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    pairs = []
    try:
        for n in range(args.pairs):
            settle()
            if n % 2 == 0:
                up = await curl(port, source)
                settle()
                cp = await asyncio.to_thread(timed_cp, source, root / "copy")
            else:
                cp = await asyncio.to_thread(timed_cp, source, root / "copy")
                settle()
                up = await curl(port, source)
            pairs.append((cp, up))
            print(f"pair {n}: receive-and-discard {up:.2f} s, cp+sync {cp:.2f} s, ratio "
                  f"{cp / up:.0%}; load {os.getloadavg()[0]:.2f}",
                  flush=True)
    finally:
        await runner.cleanup()
    up_med = statistics.median(u for _, u in pairs)
    cp_med = statistics.median(c for c, _ in pairs)
    print(f"{args.gib:g} GiB, {len(pairs)} pairs: HTTP receive alone median {up_med:.2f} s "
          f"({size / up_med / MB:.0f} MiB/s), cp+sync median {cp_med:.2f} s; per-pair ratio "
          f"median {statistics.median(c / u for c, u in pairs):.0%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    print("load:", Path("/proc/loadavg").read_text().strip())
    with scratch("media-ceiling") as root:
        asyncio.run(run(args, root))
    print("load:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
