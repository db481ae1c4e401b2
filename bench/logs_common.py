"""What the logs benchmarks share: realistic log lines (access logs, JSON, logfmt, syslog
style, tracebacks) written to a file, and timing of grep/ripgrep over that file."""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from pathlib import Path

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"]


def line(i: int, rng: random.Random) -> str:
    kind = i % 5
    word = rng.choice(WORDS)
    if kind == 0:
        return (f'10.0.{i % 256}.{rng.randrange(256)} - - [08/Dec/2026:10:00:00 +0000] "GET '
                f'/api/{word}/{i} HTTP/1.1" {rng.choice((200, 200, 200, 404, 500))} '
                f'{rng.randrange(9999)} "-" "curl/8.0"')
    if kind == 1:
        level = rng.choice(("info", "info", "info", "warn", "error", "debug"))
        return (f'{{"level":"{level}","ts":{1796688000 + i},"msg":"{word} handled",'
                f'"request_id":"req-{i:08x}","ms":{rng.randrange(500)}}}')
    if kind == 2:
        return (f"ts=2026-12-08T10:00:00Z level={rng.choice(('info', 'warn', 'error'))} "
                f"msg=\"{word} job done\" job={i} worker={i % 16}")
    if kind == 3:
        return (f"2026-12-08 10:00:00,{i % 1000:03d} {rng.choice(('INFO', 'WARNING', 'ERROR'))}"
                f" ticketbot.{word}: guild {i % 977} event processed in {rng.random():.3f}s")
    return f"Dec  8 10:00:00 host sshd[{i % 30000}]: Accepted publickey for {word} port {i}"


def write_lines(path: Path, count: int, seed: int = 7, start: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("a") as out:
        for chunk in range(start, start + count, 10000):
            out.write("".join(line(i, rng) + "\n"
                              for i in range(chunk, min(chunk + 10000, start + count))))


def tool_seconds(argv: list[str]) -> float | None:
    """Wall time of one run of grep/rg (None when the tool is not installed)."""
    if shutil.which(argv[0]) is None:
        return None
    started = time.perf_counter()
    # Into a pipe, not /dev/null: GNU grep stops at the first match when its output is
    # /dev/null, which would time something else than a search.
    subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter() - started
