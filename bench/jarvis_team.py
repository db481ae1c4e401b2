"""Targets: on a multi-domain diagnosis with Jarvis's specialists, the tool catalogue sent
per model call is at most 40 % of the whole catalogue, and the coordinator adds at most
5 ms per routed question, excluding the model.

The real core runs in this process with every bundled plugin (their services on closed
loopback ports, as in `jarvis_catalogue.py`: declaring tools needs no live service) and
the real engine calling the real `openai` SDK. The model is the tests' scripted
chat-completions server on loopback in its own thread, answering at once. One diagnosis
is the question "why does the web container keep restarting?" traced by the coordinator
through three specialists (containers → databases → storage), each calling one of its
tools and reporting: 10 model calls, 3 routed questions.

Catalogue bytes: the `tools` of each model call as sent (compact JSON), against the whole
catalogue (`Catalogue.functions()`, what every call of the single-loop engine carries) and
against the read-only catalogue a single-model diagnosis carries.

Coordinator overhead: the diagnosis's wall time minus the time spent inside the
specialists' consultations (their own model calls and tools) minus the scripted server's
handler time for the coordinator's own calls, per routed question. It counts the
coordinator's model calls on our side (the SDK, loopback HTTP), building its routing
functions, and relaying questions and reports.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from common import Report, Target, arguments, arm_watchdog, say, spread
from jarvis_catalogue import PLUGINS
from jarvis_step import ModelThread
from processes import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nebula.agent import Agent  # noqa: E402
from nebula.builtins.jarvis.looking import catalogue_bytes  # noqa: E402
from nebula.builtins.jarvis.team import Team  # noqa: E402
from nebula.config import load  # noqa: E402
from nebula.logs import configure  # noqa: E402
from tests.jarvis.openai_server import FakeOpenAI, text, tool_call  # noqa: E402

CATALOGUE_SHARE = 0.40
LIMIT_MS = 5.0
RUNS = 30
WARMUP = 3
ROUTES = 3
QUESTION = "Why does the web container keep restarting?"


def script(model: FakeOpenAI) -> None:
    def report(findings: str) -> Any:
        return text(json.dumps({"findings": findings, "evidence": [findings],
                                "proposed_actions": []}))

    model.add(
        tool_call("ask_containers", {"question": QUESTION}),
        tool_call("docker__list_containers", {}),
        report("web exits: its database refuses connections"),
        tool_call("ask_databases", {"question": "Why does the database refuse connections?"}),
        tool_call("postgres__activity", {}),
        report("PostgreSQL cannot write: no space left on device"),
        tool_call("ask_storage", {"question": "Which disk is full, and what frees it?"}),
        tool_call("system__disk_usage", {}),
        report("the data disk is 100 % full; unused images take most of it"),
        text(json.dumps({"hypothesis": "a full disk stops the database, so web restarts",
                         "evidence": [], "proposed_actions": []})))


async def measure(root: Path, model: FakeOpenAI) -> dict[str, Any]:
    path = root / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{root / "data"}"\nstartup_timeout = 5\n'
                    f'[jarvis]\nbase_url = "{model.base_url}"\nmax_retries = 0\n'
                    "token_budget = 100000000\n" + PLUGINS.format(root=root),
                    encoding="utf-8")
    agent = Agent(load(path), discover=True)
    await agent.start(schedule=False)
    jarvis = agent.runtime("jarvis")
    catalogue = jarvis.catalogue
    whole = catalogue_bytes(catalogue.functions())
    tools = len(catalogue.tools())
    read_only = catalogue_bytes(catalogue.functions(
        [t for t in catalogue.tools() if t.action is None]))
    overhead: list[float] = []
    calls: list[dict[str, Any]] = []
    try:
        for run in range(RUNS + WARMUP):
            script(model)
            team = Team(agent, jarvis, "jarvis:bench")
            inside = 0.0
            consult = team.consult

            async def timed_consult(name: str, question: str, consult: Any = consult
                                    ) -> dict[str, Any]:
                nonlocal inside
                started = time.perf_counter()
                try:
                    return await consult(name, question)
                finally:
                    inside += time.perf_counter() - started

            team.consult = timed_consult  # type: ignore[method-assign]
            busy_before = model.busy_seconds
            started = time.perf_counter()
            await team.investigate(QUESTION)
            wall = time.perf_counter() - started
            if [c["specialist"] for c in team.consultations] != [
                    "containers", "databases", "storage"]:
                raise RuntimeError(f"unexpected route: {team.consultations}")
            # The consultations' server time is inside `inside` already; the coordinator's
            # own calls' share is estimated as the mean server time per call.
            server = model.busy_seconds - busy_before
            per_call = server / len(team.spend.calls)
            coordinator_calls = sum(c["agent"] == "coordinator" for c in team.spend.calls)
            if run >= WARMUP:
                overhead.append((wall - inside - per_call * coordinator_calls) / ROUTES)
                calls = team.spend.calls
    finally:
        await agent.stop()
    sizes = [c["catalogue_bytes"] for c in calls]
    return {"tools": tools, "whole_catalogue_bytes": whole,
            "read_only_catalogue_bytes": read_only,
            "per_call": [(c["agent"], c["catalogue_bytes"]) for c in calls],
            "mean_bytes_per_call": round(sum(sizes) / len(sizes)),
            "max_bytes_per_call": max(sizes),
            "share_of_whole": round(sum(sizes) / len(sizes) / whole, 3),
            "coordinator_overhead_ms": spread(overhead, 1000, 3)}


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    configure("json", "error")
    arm_watchdog(300)
    with scratch("jarvis-team") as root, ModelThread() as model:
        say(f"{RUNS} diagnoses through three specialists against the scripted model")
        results = asyncio.run(measure(root, model))
    report = Report("jarvis_team", results, [
        Target("catalogue bytes per model call / whole catalogue", CATALOGUE_SHARE,
               results["share_of_whole"], "share"),
        Target("coordinator overhead per routed question (p50)", LIMIT_MS,
               results["coordinator_overhead_ms"]["p50"], "ms")])
    report.notes.append("the whole catalogue is what every call of the single-loop engine "
                        "carries; a single-model diagnosis carries the read-only part")
    return report.emit(args.json, lambda r: [
        f"{r['tools']} tools: whole catalogue {r['whole_catalogue_bytes']} bytes, read-only "
        f"{r['read_only_catalogue_bytes']} bytes",
        "per model call: " + ", ".join(f"{a} {b}" for a, b in r["per_call"]),
        f"mean {r['mean_bytes_per_call']} bytes ({r['share_of_whole']:.1%} of the whole), "
        f"max {r['max_bytes_per_call']}",
        f"coordinator overhead per routed question (ms): {r['coordinator_overhead_ms']}"])


if __name__ == "__main__":
    raise SystemExit(main())
