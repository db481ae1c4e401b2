"""Where an idle agent's memory and wakeups go: `nebula run` in this process, instrumented.

    python bench/footprint_probe.py CONFIG.toml [--settle 30] [--window 60]
        [--tracemalloc FRAMES] [--out FILE.json]

Runs the agent as `nebula --config CONFIG run` does (same entry point, same process), and
after `--settle` seconds watches it for `--window` seconds:

- event-loop iterations (each is one return from epoll: a wakeup of the main thread) and
  every callback the loop ran, by source (a task's coroutine, a timer's function);
- each thread's context switches (its wakeups) and name;
- the modules loaded, by top-level package;
- with `--tracemalloc`, the Python heap by package: a block counts for the innermost frame
  that is not the import machinery. Objects a module makes when imported are charged to
  its package; its code objects (unmarshalled by importlib) to the module that imported
  it, so a package's top module is charged to its importer (a plugin, for its SDK).

Then it prints (or writes) JSON and stops the agent with SIGTERM. Companion of
`footprint.py`, which measures from outside; this one explains the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

counting = threading.Event()
callbacks: collections.Counter[str] = collections.Counter()
iterations = [0]


def _source(handle: asyncio.Handle) -> str:
    """What a loop callback is: the coroutine of a task step, or the function's name."""
    callback: Any = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f" @{Path(frame.f_code.co_filename).name}:{frame.f_lineno}" if frame else ""
        return f"task {getattr(coro, '__qualname__', coro)}{where}"
    name = getattr(callback, "__qualname__", None) or repr(callback)
    module = getattr(callback, "__module__", "") or ""
    return f"{module}.{name}" if module else name


def instrument_loop() -> None:
    original_run: Callable[[asyncio.Handle], None] = asyncio.Handle._run
    original_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]

    def run(self: asyncio.Handle) -> None:
        if counting.is_set():
            callbacks[_source(self)] += 1
        original_run(self)

    def run_once(self: asyncio.AbstractEventLoop) -> None:
        if counting.is_set():
            iterations[0] += 1
        original_once(self)

    asyncio.Handle._run = run  # type: ignore[method-assign]
    asyncio.base_events.BaseEventLoop._run_once = run_once  # type: ignore[attr-defined]


def thread_switches() -> dict[int, int]:
    out = {}
    for task in Path("/proc/self/task").iterdir():
        total = 0
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
        out[int(task.name)] = total
    return out


def package_of(filename: str) -> str:
    """`aiohttp` for .../site-packages/aiohttp/..., `nebula_plex` for a plugin, `stdlib:x`
    for the standard library."""
    path = filename.replace("\\", "/")
    for marker in ("site-packages/", "/core/", "/plugins/"):
        if marker in path:
            rest = path.split(marker, 1)[1].split("/")
            if marker == "/plugins/" and len(rest) > 1:
                return rest[1]
            return rest[0].removesuffix(".py")
    if "python3." in path:
        rest = path.split("python3.", 1)[1].split("/")
        return "stdlib:" + (rest[1].removesuffix(".py") if len(rest) > 1 else "?")
    return path


IMPORT_MACHINERY = ("<frozen importlib", "importlib/__init__", "importlib/metadata",
                    "<frozen zipimport")


def heap_by_package(snapshot: tracemalloc.Snapshot) -> dict[str, float]:
    sizes: collections.Counter[str] = collections.Counter()
    for trace in snapshot.traces:
        frames = list(trace.traceback)[::-1]  # tracemalloc keeps the oldest first
        chosen = frames[0].filename
        for frame in frames:
            if not frame.filename.startswith(IMPORT_MACHINERY):
                chosen = frame.filename
                break
        sizes[package_of(chosen)] += trace.size
    return {k: round(v / 2**20, 2) for k, v in sizes.most_common(40)}


def modules_by_package() -> dict[str, int]:
    """Modules loaded per top-level package outside the standard library."""
    counts: collections.Counter[str] = collections.Counter(
        top for name in list(sys.modules)
        if (top := name.split(".", 1)[0]) not in sys.stdlib_module_names
        and not top.startswith("_"))
    return dict(counts.most_common())


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def watch(settle: float, window: float, out: Path | None) -> None:
    time.sleep(settle)
    rss_settled = rss_kb()
    before = thread_switches()
    counting.set()
    started = time.perf_counter()
    time.sleep(window)
    counting.clear()
    elapsed = time.perf_counter() - started
    after = thread_switches()
    names = {t.native_id: t.name for t in threading.enumerate()}
    me = threading.get_native_id()
    report: dict[str, Any] = {
        "rss_mb_settled": round(rss_settled / 1024, 1),
        "rss_mb_end": round(rss_kb() / 1024, 1),
        "window_s": round(elapsed, 1),
        "loop_iterations_per_s": round(iterations[0] / elapsed, 2),
        "callbacks_per_s": {k: round(v / elapsed, 3) for k, v in callbacks.most_common(40)},
        "threads": {f"{tid} {names.get(tid, '?')}": round((after.get(tid, 0) -
                                                         before.get(tid, 0)) / elapsed, 2)
                    for tid in after if tid != me},
        "modules": len(sys.modules),
        "modules_by_package": modules_by_package(),
    }
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        report["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
        report["heap_mb_by_package"] = heap_by_package(snapshot)
    text = json.dumps(report, indent=1)
    if out:
        out.write_text(text)
    else:
        print(text, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--settle", type=float, default=30.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace the Python heap with this many frames (0: off)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    instrument_loop()
    threading.Thread(target=watch, args=(args.settle, args.window, args.out), daemon=True,
                     name="footprint-probe").start()
    from nebula.cli import main as nebula_main

    sys.argv = ["nebula", "--config", str(args.config), "run"]
    nebula_main()


if __name__ == "__main__":
    main()
