"""Target: `nebula --help` answers in under 150 ms wall (median of repeated runs).

Runs the installed console script as a user would, with home and XDG dirs in a temp dir.
Uses hyperfine when it is installed (no shell, warm-up runs), else a subprocess loop timed
with perf_counter. The bare interpreter start (`python -c pass`) is measured the same way,
so the report shows how much of the time is the CLI's own imports.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import Report, Target, arguments, say, spread
from processes import isolated_env, nebula_command, scratch

LIMIT_MS = 150.0


def with_hyperfine(command: list[str], runs: int, warmup: int, cwd: Path,
                   env: dict[str, str]) -> list[float]:
    export = cwd / "hyperfine.json"
    subprocess.run(
        ["hyperfine", "--shell=none", "--style", "none", "--warmup", str(warmup),
         "--runs", str(runs), "--export-json", str(export), shlex.join(command)],
        cwd=cwd, env=env, check=True, capture_output=True, timeout=120)
    return json.loads(export.read_text())["results"][0]["times"]


def with_loop(command: list[str], runs: int, warmup: int, cwd: Path,
              env: dict[str, str]) -> list[float]:
    times = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                       timeout=30)
        if n >= warmup:
            times.append(time.perf_counter() - started)
    return times


def slowest_imports(env: dict[str, str], cwd: Path, top: int = 6) -> dict[str, float]:
    """What `import nebula.cli` pulls in directly, by cumulative import time (-X importtime)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import nebula.cli"],
                          cwd=cwd, env=env, capture_output=True, text=True, check=True,
                          timeout=30)
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        # "import time: self [us] | cumulative | name", nested two spaces deeper a level:
        # " nebula.cli" is the top, "   click" one of its direct imports.
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if len(name) - len(name.lstrip(" ")) == 3:
            cumulative[name.strip()] = int(parts[1]) / 1000
    ranked = sorted(cumulative.items(), key=lambda item: -item[1])[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-hyperfine", action="store_true",
                        help="time with a subprocess loop even if hyperfine is installed")
    args = parser.parse_args()

    use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
    measure = with_hyperfine if use_hyperfine else with_loop
    help_cmd = [*nebula_command(), "--help"]
    with scratch("cli") as root:
        env, no_cache_env = isolated_env(root), isolated_env(root, bytecode=False)
        say(f"timing {shlex.join(help_cmd)} x{args.runs}, three ways")
        times = {
            "help_ms": measure(help_cmd, args.runs, args.warmup, root, env),
            "help_no_bytecode_ms": measure(help_cmd, args.runs, args.warmup, root,
                                           no_cache_env),
            "python_c_pass_ms": measure([sys.executable, "-c", "pass"], args.runs,
                                        args.warmup, root, env),
        }
        slowest = slowest_imports(env, root)

    results = {"tool": "hyperfine" if use_hyperfine else "subprocess loop",
               "command": shlex.join(help_cmd),
               **{key: spread(value, 1000, 1) for key, value in times.items()},
               "slowest_imports_ms": slowest}
    results["cli_own_ms_p50"] = round(
        results["help_ms"]["p50"] - results["python_c_pass_ms"]["p50"], 1)
    report = Report("cli_help", results)
    for stat in ("p50", "p95"):
        report.targets.append(Target(f"nebula --help wall time, {stat}", LIMIT_MS,
                                     results["help_ms"][stat], "ms"))

    def human(r: dict) -> list[str]:
        h, n, b = r["help_ms"], r["help_no_bytecode_ms"], r["python_c_pass_ms"]
        return [f"{r['command']} ({r['tool']}, {h['n']} runs): median {h['p50']} ms, "
                f"p95 {h['p95']} ms, max {h['max']} ms",
                f"without a bytecode cache: median {n['p50']} ms, p95 {n['p95']} ms",
                f"python -c pass: median {b['p50']} ms; the CLI's own share "
                f"{r['cli_own_ms_p50']} ms",
                "slowest imports (cumulative ms): " + ", ".join(
                    f"{name} {ms}" for name, ms in r["slowest_imports_ms"].items())]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
