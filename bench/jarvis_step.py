"""Target: the Jarvis engine's overhead per tool step, excluding the model's time, is under
5 ms.

The real core runs in this process: an `Agent` with its store (SQLite in a temp dir) and a
plugin with one read-only tool answering at once, and the real engine calling the real
`openai` SDK. The model is the tests' scripted chat-completions server
(tests/jarvis/openai_server.py) on loopback, in its own thread and event loop, answering
instantly with streamed replies: each turn is `STEPS` tool calls then a text answer.

One step is one model call plus the tool it asked for. Per step, the overhead is the turn's
wall time minus the time the server spent answering, divided by the model calls. What it
includes: building the system prompt (health, recent events from the store), loading and
redacting the history, the SDK's request and stream parsing, loopback HTTP, the tool call
with its audit row, the events published (each stored) and the messages stored.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import Report, Target, arguments, arm_watchdog, say, spread
from processes import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nebula.agent import Agent  # noqa: E402
from nebula.api import Manifest, Tool, hookimpl  # noqa: E402
from nebula.config import load  # noqa: E402
from nebula.logs import configure  # noqa: E402
from tests.jarvis.openai_server import FakeOpenAI, text, tool_call  # noqa: E402

LIMIT_MS = 5.0
STEPS = 8  # tool calls per turn: the default max_steps
TURNS = 40
WARMUP = 3


class Instant:
    manifest = Manifest(api_version="1.1")

    async def _ping(self, params: Any) -> Any:
        return {"pong": True, "echo": dict(params)}

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [Tool("ping", "Answers at once.", run=self._ping)]


class ModelThread:
    """The fake model server on its own loop, so its work does not run on the engine's."""

    def __init__(self) -> None:
        self.server = FakeOpenAI()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.server.__aenter__())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        self._ready.wait(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def measure(root: Path, model: FakeOpenAI) -> list[float]:
    path = root / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{root / "data"}"\n[jarvis]\n'
                    f'base_url = "{model.base_url}"\nmax_retries = 0\n'
                    f"max_steps = {STEPS + 1}\ntoken_budget = 100000000\n", encoding="utf-8")
    agent = Agent(load(path), {"bench": Instant()}, discover=False)
    await agent.start(schedule=False)
    jarvis = agent.runtime("jarvis")  # the built-in plugin's runtime
    per_step: list[float] = []
    try:
        for turn in range(TURNS + WARMUP):
            model.add(*[tool_call("bench__ping", {"n": i}) for i in range(STEPS)],
                      text("All done: every ping answered."))
            busy_before = model.busy_seconds
            started = time.perf_counter()
            cid = await jarvis.submit("ping eight times", "bench")
            await jarvis.wait(cid)
            wall = time.perf_counter() - started
            state = (await jarvis.conversation(cid))["state"]
            if state != "idle":
                raise RuntimeError(f"turn ended {state}")
            if turn >= WARMUP:
                per_step.append((wall - (model.busy_seconds - busy_before)) / (STEPS + 1))
    finally:
        await agent.stop()
    return per_step


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    configure("json", "error")
    arm_watchdog(300)
    with scratch("jarvis-step") as root, ModelThread() as model:
        say(f"{TURNS} turns of {STEPS} tool steps against the scripted model")
        per_step = asyncio.run(measure(root, model))
    stats = spread(per_step, 1000, 3)
    report = Report("jarvis_step", {"per_step_ms": stats, "turns": TURNS,
                                    "steps_per_turn": STEPS + 1},
                    [Target("engine overhead per tool step (p50)", LIMIT_MS, stats["p50"],
                            "ms")])
    report.notes.append("model time excluded: the scripted server's own handler time is "
                        "subtracted; loopback HTTP and the openai SDK are counted")
    return report.emit(args.json, lambda r: [
        f"per step (ms): p50 {r['per_step_ms']['p50']}, p95 {r['per_step_ms']['p95']}, "
        f"max {r['per_step_ms']['max']} over {r['turns']} turns of "
        f"{r['steps_per_turn']} model calls"])


if __name__ == "__main__":
    raise SystemExit(main())
