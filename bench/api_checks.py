"""Target: `GET /api/v1/checks` with 200 checks serves at least 2,000 requests/s on 2 cores.

The agent runs in its own process pinned to CPU 0 (`serve_agent.py`: the real app with a
plugin of 200 no-op checks every 30 s). The load comes from another process pinned to CPU 1:
wrk when it is installed (`-t2 -c32 -d15s` by default, an admin bearer token), else
`http_load.py`. Load starts once every check has run once (first runs are spread over 5 s),
so the answer is the steady-state one: 200 checks, a few results a second each making the
cached answer stale.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import Report, Target, arguments, say
from processes import (
    cpu_seconds,
    get_json,
    isolated_env,
    pin_to,
    scratch,
    stop_process,
)

LIMIT_RPS = 2000.0
PATH = "/api/v1/checks"
BENCH = Path(__file__).resolve().parent
START_TIMEOUT = 30.0
SPREAD_S = 5.0  # the core spreads first runs over min(interval, 5 s)
WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(m?s)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, threads: int, conns: int, seconds: float,
        cpu: int | None) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds:g}s", "--latency",
               "-H", f"Authorization: Bearer {token}", url + PATH]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=seconds + 30, preexec_fn=pin_to(cpu))
    out = done.stdout
    rps = WRK_RPS.search(out)
    total = WRK_TOTAL.search(out)
    non2xx = WRK_NON2XX.search(out)
    errors = WRK_ERRORS.search(out)
    if rps is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}\n{done.stderr}")
    return {
        "tool": f"wrk -t{threads} -c{conns} -d{seconds:g}s",
        "requests": int(total.group(1)),
        "rps": float(rps.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "latency_ms": {f"p{p}": round(float(v) * UNIT_MS[u], 3)
                       for p, v, u in WRK_LATENCY.findall(out)},
    }


def python_load(url: str, token: str, conns: int, seconds: float, cpu: int | None) -> dict:
    """The aiohttp load loop in its own process, so it never shares the agent's core."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "http_load.py"), url + PATH, token, "--connections",
         str(conns), "--seconds", str(seconds)],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
        preexec_fn=pin_to(cpu))
    return json.loads(done.stdout)


@contextlib.contextmanager
def agent_process(root: Path, checks: int, interval: float, cpu: int | None,
                  profile: Path | None):
    command = [sys.executable, str(BENCH / "serve_agent.py"), str(root), "--checks",
               str(checks), "--interval", str(interval)]
    if profile:
        command += ["--profile-to", str(profile)]
    with (root / "agent.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                stdin=subprocess.DEVNULL, env=isolated_env(root),
                                preexec_fn=pin_to(cpu))
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)  # an empty read with data ready means the agent is exiting
            status = f"exited {proc.returncode}" if proc.returncode is not None else \
                f"not serving after {START_TIMEOUT:g} s"
            raise RuntimeError(f"agent {status}:\n" + (root / "agent.log").read_text())
        yield proc, json.loads(line)
    finally:
        stop_process(proc)


def measure(a: argparse.Namespace, root: Path) -> dict:
    two_cores = len(os.sched_getaffinity(0)) >= 2
    agent_cpu, load_cpu = (0, 1) if two_cores else (None, None)
    profile = root / "agent.prof" if a.profile else None
    with agent_process(root, a.checks, a.interval, agent_cpu, profile) as (proc, info):
        url, token = info["url"], info["token"]
        first = get_json(url + PATH, token)
        if len(first["checks"]) != a.checks:
            raise RuntimeError(f"expected {a.checks} checks, got {len(first['checks'])}")
        # Every check has run once after the spread; wait for that steady state.
        time.sleep(SPREAD_S + 1.0)
        body = get_json(url + PATH, token)
        not_run = sum(1 for c in body["checks"] if c["last_run"] is None)
        size = len(json.dumps(body))
        use_wrk = shutil.which("wrk") is not None and not a.no_wrk
        say(f"load: {'wrk' if use_wrk else 'aiohttp'} for {a.seconds:g} s, "
            f"agent on CPU {agent_cpu}, load on CPU {load_cpu}")
        cpu_before, wall_before = cpu_seconds(proc.pid), time.perf_counter()
        if use_wrk:
            load = wrk(url, token, a.threads, a.connections, a.seconds, load_cpu)
        else:
            load = python_load(url, token, a.connections, a.seconds, load_cpu)
        agent_busy = cpu_seconds(proc.pid) - cpu_before
        elapsed = time.perf_counter() - wall_before
    results = {
        "checks": a.checks,
        "check_interval_s": a.interval,
        "checks_not_run_yet": not_run,
        "response_bytes": size,
        "pinned": two_cores,
        "load": load,
        "agent_cpu_pct_of_core": round(agent_busy / elapsed * 100, 1),
    }
    if profile:
        results["profile_top"] = profile_top(profile)
    return results


def profile_top(path: Path, count: int = 15) -> list[str]:
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("tottime").print_stats(count)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return lines[start:start + count + 1]


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-wrk", action="store_true", help="load with aiohttp even if wrk "
                                                               "is installed")
    parser.add_argument("--profile", action="store_true",
                        help="run the agent under cProfile and print its top functions "
                             "(slows the agent: not for the target)")
    args = parser.parse_args()

    with scratch("api") as root:
        results = measure(args, root)
    report = Report("api_checks", results)
    load = results["load"]
    report.targets.append(Target(f"GET {PATH}, {args.checks} checks", LIMIT_RPS,
                                 load["rps"], "req/s", higher_is_better=True))
    if load["non_2xx"] or load["socket_errors"]:
        report.notes.append(f"{load['non_2xx']} non-2xx answers, {load['socket_errors']} "
                            "socket errors")
        report.targets.append(Target("answers that failed", 1, load["non_2xx"]
                                     + load["socket_errors"], "answers"))
    if args.profile:
        report.notes.append("the agent ran under cProfile: its rate is not the target's")

    def human(r: dict) -> list[str]:
        ld = r["load"]
        lines = [f"{ld['tool']}: {ld['requests']} requests, {ld['rps']} req/s, latency ms "
                 + ", ".join(f"{k} {v}" for k, v in ld["latency_ms"].items()),
                 f"{r['checks']} checks ({r['response_bytes']} bytes a response); agent used "
                 f"{r['agent_cpu_pct_of_core']}% of its core"
                 + ("" if r["pinned"] else " (one core: agent and load share it)")]
        return lines + r.get("profile_top", [])

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
