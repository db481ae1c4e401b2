"""Idle footprint of `nebula run` next to Glances (REST only), measured side by side in one
window: time to ready, idle RSS, idle CPU, and the ratios Nebula / Glances.

Glances (`glances[web]`, pinned with `--glances-version`) is installed from the package
index into its own venv under the cache dir (`--cache-dir`, default
`$XDG_CACHE_HOME/nebula-bench`), once; the repository is not touched. It runs as
`glances -w --disable-webui` (the REST API only) on a loopback port, with its home and XDG
dirs in a temp dir and its update check off (no request leaves the machine).

Two agents run beside it, both through the console script given with `--nebula` (any
checkout's venv, so an older commit can be measured with this script):

- `system`: only the system plugin, on its defaults;
- `all`: every bundled plugin installed enabled (the nebula-command distribution's
  `nebula.plugins` entry points, so a new plugin is never left out; the built-ins are on
  by default), each pointed at a service that is not there (loopback
  URLs on a port held bound but not listening, so connects are refused at once; a Unix
  socket path that does not exist; DNS to a closed loopback port), as a user who enables
  what they do not run yet has it.

Each repetition starts the three processes one after another (order rotated between
repetitions; each is timed to its first 200, /healthz for Nebula and /api/4/status for
Glances, once the ones already started have gone quiet), lets all three settle for
`--settle` s, then measures all three over the same `--idle` s window: VmRSS sampled
every second (median reported), utime+stime from /proc/<pid>/stat (% of one core), context
switches of all threads (wakeups/s). Ratios are taken within a repetition, so machine load
hits both sides alike; the load average is recorded with every repetition. One unmeasured
start of each fills the bytecode caches.

    .venv/bin/python bench/footprint.py [--nebula PATH/bin/nebula] [--reps 3] [--idle 60]
        [--settle 30] [--configs system,all] [--per-plugin] [--glances-version 4.5.8]
        [--details] [--json]

`--per-plugin` adds one agent per bundled plugin (the system plugin and that one), all in
the same window, and reports what each adds to the system-only agent. `--configs` also
takes `-NAME`: every bundled plugin but NAME.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Report, arguments, say
from processes import (
    CLOCK_TICKS,
    cpu_seconds,
    free_port,
    get_json,
    http_status,
    isolated_env,
    proc_status,
    rss_by_file,
    scratch,
    stop_process,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.absent_services import plugin_sections

GLANCES_VERSION = "4.5.8"
# The targets for the `all` configuration, as ratios Nebula / Glances (at most).
TARGETS = {"rss": 0.8, "cpu": 1.0, "ready": 1.0}


# --- what each configuration enables -------------------------------------------------------


def agent_section(port: int, data: Path) -> str:
    return ("[agent]\n"
            'bind = "127.0.0.1"\n'
            f"port = {port}\n"
            f'data_dir = "{data}"\n'
            'log_format = "json"\n'
            'log_level = "info"\n\n')


def enabled_sections(bundled: list[str], absent: int, root: Path) -> dict[str, str]:
    """A section for every bundled plugin installed (`bundled`, from the entry points): the
    one above, else a bare `enabled = true` (a new plugin is measured, not silently left
    out; if its defaults do not let it start, the report's plugin states say so)."""
    known = plugin_sections(absent, root)
    return {name: known.get(name, f"[plugins.{name}]\nenabled = true\n")
            for name in ["system", *sorted(n for n in bundled if n != "system")]}


def plugins_config(config: str, bundled: list[str], absent: int, root: Path) -> str:
    """`system`: the system plugin alone; `all`: every bundled plugin; `+NAME`: the system
    plugin and NAME (what one plugin costs on top of the system-only agent); `-NAME`: every
    bundled plugin but NAME (what it costs among the others: it may drive the others' work,
    as notify does when every other check fails)."""
    sections = enabled_sections(bundled, absent, root)
    if config == "all":
        return "\n".join(sections.values())
    if config.startswith("+"):
        return sections["system"] + "\n" + sections[config[1:]]
    if config.startswith("-"):
        return "\n".join(text for name, text in sections.items() if name != config[1:])
    return sections[config]


def known_config(config: str, bundled: list[str]) -> bool:
    return config in ("system", "all") or (config[:1] in "+-" and config[1:] in bundled)


@contextlib.contextmanager
def absent_port() -> Iterator[int]:
    """A loopback TCP port that refuses connections and that nobody else can take while the
    bench runs: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# --- Glances in its own venv ---------------------------------------------------------------


def cache_dir(given: Path | None) -> Path:
    if given:
        return given
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nebula-bench"


def glances_install(cache: Path, version: str) -> Path:
    """The `glances` script of a venv holding `glances[web]==version`; made on first use."""
    venv = cache / f"glances-{version}"
    script = venv / "bin" / "glances"
    marker = venv / ".installed"
    if script.exists() and marker.exists():
        return script
    say(f"installing glances[web]=={version} into {venv}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                   timeout=120)
    log = cache / f"glances-{version}-pip.log"
    with log.open("wb") as out:
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install",
                               "--disable-pip-version-check", f"glances[web]=={version}"],
                              stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode:
        raise SystemExit(f"installing glances failed; see {log}")
    marker.write_text(version)
    return script


def glances_env(root: Path) -> dict[str, str]:
    """Home and XDG dirs under `root`; Glances uses the bytecode pip compiled at install."""
    env = isolated_env(root, bytecode=False)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# --- the process under test ----------------------------------------------------------------


@dataclass
class NebulaBuild:
    """The console script measured, and which code it runs."""

    script: Path

    @property
    def python(self) -> Path:
        return self.script.with_name("python")

    def bundled_plugins(self) -> list[str]:
        """The bundled plugins this build has installed: the `nebula.plugins` entry points
        of the nebula-command distribution (third-party plugins in the venv are left out)."""
        done = subprocess.run(
            [str(self.python), "-c",
             "import json; from importlib.metadata import entry_points; "
             "print(json.dumps(sorted(e.name for e in entry_points(group='nebula.plugins') "
             "if e.dist is not None and e.dist.name == 'nebula-command')))"],
            capture_output=True, text=True, check=True, timeout=30)
        names: list[str] = json.loads(done.stdout)
        return names

    def describe(self) -> dict[str, Any]:
        done = subprocess.run(
            [str(self.python), "-c",
             "import nebula, pathlib; print(nebula.__version__); "
             "print(pathlib.Path(nebula.__file__).resolve().parent)"],
            capture_output=True, text=True, check=True, timeout=30)
        version, package = done.stdout.split("\n")[:2]

        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", package, *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()

        commit = git("rev-parse", "--short", "HEAD") or "?"
        if git("status", "--porcelain", "--untracked-files=no"):
            commit += "+changes"
        return {"script": str(self.script), "version": version, "package": package,
                "commit": commit}


@dataclass
class Running:
    """One process of the comparison and what was measured of it."""

    name: str
    proc: subprocess.Popen[bytes]
    started: float
    ready_url: str
    log: Path
    runtime_file: Path | None = None
    ready_s: float = float("nan")
    # CPU the process had used by its first 200: unlike the wall time, it hardly depends
    # on what else the machine runs.
    ready_cpu_s: float = float("nan")

    def wait_ready(self, timeout: float = 60.0, poll: float = 0.005) -> float:
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n"
                                   f"{self.log.read_text(errors='replace')[-3000:]}")
            if http_status(self.ready_url, timeout=0.5) == 200:
                self.ready_s = time.perf_counter() - self.started
                self.ready_cpu_s = cpu_seconds(self.proc.pid)
                return self.ready_s
            time.sleep(poll)
        raise RuntimeError(f"{self.name} not ready after {timeout:g} s:\n"
                           f"{self.log.read_text(errors='replace')[-3000:]}")

    def api(self, path: str) -> Any:
        """A GET on the agent's API with the admin token of its runtime file."""
        assert self.runtime_file is not None
        info = json.loads(self.runtime_file.read_text())
        return get_json(info["url"] + path, info["token"])


def spawn(name: str, command: list[str], root: Path, env: dict[str, str], ready_url: str,
          runtime_file: Path | None = None) -> Running:
    root.mkdir(parents=True, exist_ok=True)
    log = root / f"{name}.log"
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Running(name, proc, started, ready_url, log, runtime_file)


def start_glances(script: Path, root: Path) -> Running:
    port = free_port()
    command = [str(script), "-w", "--disable-webui", "-B", "127.0.0.1", "-p", str(port),
               "--disable-check-update"]
    return spawn("glances", command, root, glances_env(root),
                 f"http://127.0.0.1:{port}/api/4/status")


def start_nebula(build: NebulaBuild, config: str, bundled: list[str], root: Path,
                 env: dict[str, str], absent: int) -> Running:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    path = root / "nebula.toml"
    path.write_text(agent_section(port, root / "data")
                    + plugins_config(config, bundled, absent, root),
                    encoding="utf-8")
    return spawn(f"nebula-{config}", [str(build.script), "--config", str(path), "run"], root,
                 env, f"http://127.0.0.1:{port}/healthz", root / "data" / "agent.json")


# --- what /proc says over the window ---------------------------------------------------------


def switches(pid: int) -> int:
    """Context switches of every thread of `pid` so far: each is the thread going to sleep
    or being preempted, so their rate over an idle window counts its wakeups."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


@dataclass
class Window:
    pids: dict[str, int]
    rss_kb: dict[str, list[int]] = field(default_factory=dict)

    def measure(self, seconds: float) -> dict[str, dict[str, Any]]:
        cpu0 = {n: cpu_seconds(p) for n, p in self.pids.items()}
        sw0 = {n: switches(p) for n, p in self.pids.items()}
        t0 = time.perf_counter()
        self.rss_kb = {n: [] for n in self.pids}
        while (now := time.perf_counter()) < t0 + seconds:
            for n, p in self.pids.items():
                self.rss_kb[n].append(proc_status(p)["VmRSS"])
            time.sleep(min(1.0, max(0.0, t0 + seconds - now)))
        elapsed = time.perf_counter() - t0
        out = {}
        for n, p in self.pids.items():
            status = proc_status(p)
            busy = cpu_seconds(p) - cpu0[n]
            out[n] = {
                "rss_mb": round(statistics.median(self.rss_kb[n]) / 1024, 1),
                "rss_mb_min_max": [round(min(self.rss_kb[n]) / 1024, 1),
                                   round(max(self.rss_kb[n]) / 1024, 1)],
                "peak_rss_mb": round(status["VmHWM"] / 1024, 1),
                "cpu_pct_of_core": round(busy / elapsed * 100, 3),
                "cpu_s": round(busy, 3),
                "wakeups_per_s": round((switches(p) - sw0[n]) / elapsed, 2),
                "threads": status["Threads"],
                "rss_mb_by_file": rss_by_file(p, top=5),
            }
        return out


# --- one repetition ------------------------------------------------------------------------


def wait_quiet(pids: list[int], span: float = 0.5, ticks: int = 2, limit: float = 20.0) -> None:
    """Until the processes together used fewer than `ticks` clock ticks of CPU over `span`
    seconds (or `limit` seconds have passed)."""
    deadline = time.perf_counter() + limit
    threshold = ticks / CLOCK_TICKS
    while pids and time.perf_counter() < deadline:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(span)
        if sum(cpu_seconds(p) for p in pids) - before < threshold:
            return


def plugin_states(agent: Running) -> dict[str, str]:
    with contextlib.suppress(Exception):
        return {p["name"]: p["state"] + (f": {p['error']}" if p.get("error") else "")
                for p in agent.api("/api/v1/plugins")["plugins"]}
    return {}


def jobs(agent: Running) -> list[dict[str, Any]]:
    """Scheduled jobs and their intervals: the agent's own timers."""
    with contextlib.suppress(Exception):
        return [{"name": j["name"], "schedule": j.get("schedule")}
                for j in agent.api("/api/v1/jobs")["jobs"]]
    return []


def repetition(n: int, build: NebulaBuild, glances: Path, configs: list[str],
               bundled: list[str], root: Path, env: dict[str, str], absent: int,
               settle: float, idle: float, details: bool) -> dict[str, Any]:
    names = ["glances", *configs]
    order = names[n % len(names):] + names[:n % len(names)]
    load_before = [round(x, 2) for x in os.getloadavg()]
    running: dict[str, Running] = {}
    try:
        for name in order:
            # Each start is timed on a machine its predecessors no longer keep busy: right
            # after its first 200 an agent still runs its first checks for a while.
            wait_quiet([r.proc.pid for r in running.values()])
            here = root / f"rep-{n}" / name
            running[name] = (start_glances(glances, here) if name == "glances"
                             else start_nebula(build, name, bundled, here, env, absent))
            say(f"rep {n + 1}: {name} ready in {running[name].wait_ready() * 1000:.0f} ms")
        states = {c: plugin_states(running[c]) for c in configs}
        say(f"rep {n + 1}: settling {settle:g} s, then {idle:g} s idle window")
        time.sleep(settle)
        measured = Window({k: r.proc.pid for k, r in running.items()}).measure(idle)
        for name, r in running.items():
            if r.proc.poll() is not None:
                raise RuntimeError(f"{name} died during the window")
            measured[name]["ready_s"] = round(r.ready_s, 3)
            measured[name]["ready_cpu_s"] = round(r.ready_cpu_s, 3)
        if details:
            for c in configs:
                measured[c]["jobs"] = jobs(running[c])
    finally:
        exits = {name: stop_process(r.proc) for name, r in running.items()}
    load_after = [round(x, 2) for x in os.getloadavg()]
    g = measured["glances"]
    ratios = {c: {"rss": _ratio(measured[c]["rss_mb"], g["rss_mb"]),
                  "cpu": _ratio(measured[c]["cpu_pct_of_core"], g["cpu_pct_of_core"]),
                  "ready": _ratio(measured[c]["ready_s"], g["ready_s"]),
                  "ready_cpu": _ratio(measured[c]["ready_cpu_s"], g["ready_cpu_s"])}
              for c in configs}
    # What a configuration adds to the system-only agent measured in the same window.
    deltas = {c: {key: round(measured[c][key] - measured["system"][key], 3)
                  for key in ("rss_mb", "cpu_pct_of_core", "wakeups_per_s", "threads")}
              for c in configs if c != "system" and "system" in configs}
    return {"order": order, "loadavg_before": load_before, "loadavg_after": load_after,
            "processes": measured, "ratios_to_glances": ratios,
            "deltas_to_system": deltas, "plugin_states": states, "exit_codes": exits}


def _ratio(a: float, b: float) -> float | None:
    """a / b; None when Glances used no measurable CPU in the window (below one tick)."""
    return round(a / b, 3) if b else None


def _spread(values: list[float | None]) -> dict[str, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return {"median": None, "min": None, "max": None}
    return {"median": round(statistics.median(known), 3), "min": min(known),
            "max": max(known)}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def warm_up(build: NebulaBuild, glances: Path, configs: list[str], bundled: list[str],
            root: Path, env: dict[str, str], absent: int) -> None:
    """One start of each, not measured: fills the bytecode cache (PYTHONPYCACHEPREFIX)."""
    for name in ["glances", *configs]:
        here = root / "warm-up" / name
        run = (start_glances(glances, here) if name == "glances"
               else start_nebula(build, name, bundled, here, env, absent))
        try:
            run.wait_ready()
        finally:
            stop_process(run.proc)


def summary(reps: list[dict[str, Any]], configs: list[str]) -> dict[str, Any]:
    """Medians over the repetitions, and each value's range."""
    out: dict[str, Any] = {}
    for name in ["glances", *configs]:
        out[name] = {}
        for key in ("ready_s", "ready_cpu_s", "rss_mb", "cpu_pct_of_core", "wakeups_per_s",
                    "threads"):
            out[name][key] = _spread([r["processes"][name][key] for r in reps])
    for c in configs:
        if c != "system" and "system" in configs:
            out[c]["delta_to_system"] = {
                key: round(statistics.median(r["deltas_to_system"][c][key] for r in reps), 3)
                for key in ("rss_mb", "cpu_pct_of_core", "wakeups_per_s", "threads")}
        out[c]["ratios_to_glances"] = {
            key: _spread([r["ratios_to_glances"][c][key] for r in reps])
            for key in ("rss", "cpu", "ready", "ready_cpu")}
    return out


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--nebula", type=Path, default=Path(sys.executable).with_name("nebula"),
                        help="the nebula console script to measure (default: this venv's)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--idle", type=float, default=60.0,
                        help="seconds of the measured idle window (default 60)")
    parser.add_argument("--settle", type=float, default=30.0,
                        help="seconds between the last ready and the window (default 30)")
    parser.add_argument("--configs", default="system,all",
                        help="Nebula configurations, comma-separated: system (the system "
                             "plugin alone), all (every bundled plugin), +NAME (system and "
                             "NAME), -NAME (all but NAME)")
    parser.add_argument("--per-plugin", action="store_true",
                        help="add +NAME for every bundled plugin: each one's own cost")
    parser.add_argument("--glances-version", default=GLANCES_VERSION)
    parser.add_argument("--cache-dir", type=Path, help="where Glances' venv is kept")
    parser.add_argument("--details", action="store_true",
                        help="also record each agent's scheduled jobs")
    args = parser.parse_args()
    build = NebulaBuild(args.nebula.absolute())
    if not build.script.exists():
        parser.error(f"{build.script} does not exist")
    bundled = build.bundled_plugins()
    configs = [c for c in args.configs.split(",") if c]
    if args.per_plugin:
        configs += [f"+{name}" for name in bundled if name != "system"]
    if unknown := {c for c in configs if not known_config(c, bundled)}:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")

    glances = glances_install(cache_dir(args.cache_dir), args.glances_version)
    under_test = build.describe()
    say(f"nebula {under_test['version']} at {under_test['commit']} ({under_test['package']})")
    reps = []
    with scratch("footprint") as root, absent_port() as absent:
        env = isolated_env(root)
        say("warm-up start of each (not measured)")
        warm_up(build, glances, configs, bundled, root, env, absent)
        for n in range(args.reps):
            reps.append(repetition(n, build, glances, configs, bundled, root, env, absent,
                                   args.settle, args.idle, args.details))
            say(f"rep {n + 1}: load {reps[-1]['loadavg_before'][0]} → "
                f"{reps[-1]['loadavg_after'][0]}; ratios {reps[-1]['ratios_to_glances']}")

    report = Report("footprint", {
        "nebula_under_test": under_test,
        "bundled_plugins": bundled,
        "glances_version": args.glances_version,
        "reps": args.reps, "idle_s": args.idle, "settle_s": args.settle,
        "summary": summary(reps, configs),
        "repetitions": reps,
    })
    failed = {f"{config}/{name}" for r in reps for config, states in r["plugin_states"].items()
              for name, state in states.items() if state.startswith("failed")}
    if failed:
        report.notes.append(f"plugins failed to start: {sorted(failed)} (see plugin_states); "
                            "their idle cost is not in the numbers")
    busiest = max(r["loadavg_before"][0] for r in reps)
    if busiest > 1.5:
        report.notes.append(f"load average reached {busiest} before a repetition: timings "
                            "shared the machine (ratios still compare like with like)")

    def human(r: dict[str, Any]) -> list[str]:
        s, t = r["summary"], r["nebula_under_test"]
        lines = [f"nebula {t['version']} at {t['commit']} vs glances {r['glances_version']}; "
                 f"{r['reps']} reps, settle {r['settle_s']:g} s, idle {r['idle_s']:g} s",
                 f"{'':14} {'ready s':>8} {'cpu s':>6} {'RSS MB':>8} {'CPU %':>8} "
                 f"{'wake/s':>8} {'thr':>4} {'xRSS':>6} {'xCPU':>6} {'xready':>6} "
                 f"{'xrcpu':>6}"]
        for name, v in s.items():
            ratio = v.get("ratios_to_glances")
            tail = "".join(f" {_fmt(ratio[k]['median']):>6}"
                           for k in ("rss", "cpu", "ready", "ready_cpu")) if ratio else ""
            lines.append(f"{name:14} {v['ready_s']['median']:>8.3f} "
                         f"{v['ready_cpu_s']['median']:>6.2f} "
                         f"{v['rss_mb']['median']:>8.1f} {v['cpu_pct_of_core']['median']:>8.3f} "
                         f"{v['wakeups_per_s']['median']:>8.1f} "
                         f"{v['threads']['median']:>4g}{tail}")
        lines.append("(medians over repetitions; x = Nebula / Glances within one repetition; "
                     "cpu s, xrcpu: CPU time used by the first 200)")
        if any("delta_to_system" in v for v in s.values()):
            lines.append(f"{'added to system':16} {'RSS MB':>8} {'CPU %':>8} {'wake/s':>8} "
                         f"{'thr':>4}")
            for name, v in s.items():
                if d := v.get("delta_to_system"):
                    lines.append(f"{name:16} {d['rss_mb']:>+8.1f} {d['cpu_pct_of_core']:>+8.3f} "
                                 f"{d['wakeups_per_s']:>+8.1f} {d['threads']:>+4g}")
        for i, rep in enumerate(r["repetitions"], 1):
            ratios = "; ".join(f"{c} xRSS {x['rss']} xCPU {x['cpu']} xready {x['ready']} "
                               f"xready_cpu {x['ready_cpu']}"
                               for c, x in rep["ratios_to_glances"].items())
            lines.append(f"rep {i} (load {rep['loadavg_before'][0]}→"
                         f"{rep['loadavg_after'][0]}): {ratios}")
        for key, v in r["targets_all_plugins"].items():
            lines.append(f"[{'PASS' if v['passed'] else 'FAIL'}] all plugins: {key} "
                         f"{v['measured']}x Glances (target ≤ {v['limit']}x)")
        return lines

    verdicts = report.results["targets_all_plugins"] = {}
    if "all" in configs:
        ratio = report.results["summary"]["all"]["ratios_to_glances"]
        verdicts.update({key: {"limit": limit, "measured": ratio[key]["median"],
                               "passed": ratio[key]["median"] is not None
                               and ratio[key]["median"] <= limit}
                         for key, limit in TARGETS.items()})
    code = report.emit(args.json, human)
    return 1 if any(not v["passed"] for v in verdicts.values()) else code


if __name__ == "__main__":
    sys.exit(main())
