"""What every benchmark's report shares: the machine it ran on, percentiles, targets, the
printer (human or `--json`) and a watchdog that keeps each run bounded.

Run it alone (`python bench/common.py`) to print the machine description.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _first(path: str, key: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    return "?"


def machine() -> dict[str, Any]:
    """Where the numbers came from; every report carries it."""
    import aiohttp

    import nebula

    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cpu_mhz": _first("/proc/cpuinfo", "cpu MHz"),
        "cores_online": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(mem_kb) / 1024**2, 1) if mem_kb.isdigit() else None,
        "os": _first("/etc/os-release", "PRETTY_NAME").strip('"'),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "nebula": nebula.__version__,
        "aiohttp": aiohttp.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        # Other work on the machine shows here: numbers taken under load are not comparable.
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _commit() -> str:
    """The checkout's commit, with `+changes` when its tracked files differ from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()

    try:
        changed = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on unsorted input."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    """n, mean, p50, p95, p99 and max, each multiplied by `scale` (1000: seconds to ms)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values) * scale, digits),
        "p50": round(percentile(values, 50) * scale, digits),
        "p95": round(percentile(values, 95) * scale, digits),
        "p99": round(percentile(values, 99) * scale, digits),
        "max": round(max(values) * scale, digits),
    }


@dataclass
class Target:
    """One of the issue's performance targets, and what this run measured against it."""

    name: str
    limit: float
    measured: float
    unit: str
    higher_is_better: bool = False

    @property
    def passed(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured >= self.limit if self.higher_is_better else \
            self.measured < self.limit

    def public(self) -> dict[str, Any]:
        return {"target": self.name, "limit": self.limit, "measured": self.measured,
                "unit": self.unit, "comparison": ">=" if self.higher_is_better else "<",
                "passed": self.passed}

    def line(self) -> str:
        op = ">=" if self.higher_is_better else "<"
        verdict = "PASS" if self.passed else "FAIL"
        return f"  [{verdict}] {self.name}: {self.measured:g} {self.unit} " \
               f"(target {op} {self.limit:g} {self.unit})"


@dataclass
class Report:
    bench: str
    results: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def emit(self, as_json: bool, human: Callable[[dict[str, Any]], list[str]]) -> int:
        """Print the report; the exit status is 1 when a target was missed."""
        if as_json:
            # One line per report, so `run_all.sh --json` output is JSON Lines.
            print(json.dumps({"bench": self.bench, "machine": machine(),
                              "results": self.results,
                              "targets": [t.public() for t in self.targets],
                              "notes": self.notes}))
        else:
            print(f"== {self.bench}")
            for line in human(self.results):
                print(f"  {line}")
            for target in self.targets:
                print(target.line())
            for note in self.notes:
                print(f"  note: {note}")
        return 0 if all(t.passed for t in self.targets) else 1


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print machine-readable numbers")
    return parser


def say(message: str) -> None:
    """Progress on stderr, so `--json` output on stdout stays parseable."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def arm_watchdog(seconds: float) -> None:
    """End this process if it outlives `seconds`: a benchmark stops by itself, hung or not.

    With a running event loop, every task's stack is printed first (a hung agent stop is
    the likely cause); faulthandler covers a blocked loop a little later."""
    faulthandler.dump_traceback_later(seconds + 10, exit=True)
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(seconds, _dump_tasks_and_exit, seconds)


# --- a stand-in server in a child process -------------------------------------------------
# The stand-in gets its own process (the same script, run with `--serve`), so its work does
# not count against the agent's event loop being measured.


async def serve_until_stdin_closes(hello: dict[str, Any],
                                   counts: Callable[[], dict[str, Any]]) -> None:
    """The child's side: announce `hello` (the stand-in's URLs), serve until the parent
    closes stdin, then report `counts()` (what the stand-in saw)."""
    print(json.dumps(hello), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(json.dumps(counts()), flush=True)


@contextlib.contextmanager
def standin_child(script: str, *args: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The parent's side: run `script --serve ARGS`; yields (hello, counts), where `counts`
    is filled in once the block ends and the child has reported."""
    proc = subprocess.Popen([sys.executable, script, "--serve", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=Path(script).resolve().parent.parent)
    assert proc.stdin is not None and proc.stdout is not None
    counts: dict[str, Any] = {}
    try:
        yield json.loads(proc.stdout.readline()), counts
    finally:
        proc.stdin.close()
        counts.update(json.loads(proc.stdout.readline() or "{}"))
        proc.wait(10)


def _dump_tasks_and_exit(seconds: float) -> None:
    say(f"watchdog: still running after {seconds:g} s; pending tasks:")
    for task in asyncio.all_tasks():
        task.print_stack(limit=5, file=sys.stderr)
    os._exit(3)


if __name__ == "__main__":
    print(json.dumps(machine(), indent=2))
