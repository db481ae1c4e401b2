"""What Sunshine's log (GET /api/logs, its log file as text) says about streaming.

A line is `[<time>]: <Level>: <message>` (docs/protocols/sunshine.md); the time is
`YYYY-MM-DD HH:MM:SS.mmm` in current versions and `YYYY:MM:DD:HH:MM:SS` in older ones, the
level one of Verbose, Debug, Info, Warning, Error, Fatal. Sunshine writes a new log at each
start, so everything here is about the running instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LINE = re.compile(r"^\[(?P<time>[0-9:. -]+)\]: (?P<level>Verbose|Debug|Info|Warning|Error|"
                  r"Fatal): (?P<message>.*)$")
SESSION_STARTED = re.compile(r"New streaming session started \[active sessions: (\d+)\]")
SESSION_ENDED = ("CLIENT DISCONNECTED", "Process terminated")
# What encoder trouble looks like: the probe at start-up, and failures while streaming.
ENCODER = re.compile(r"encoder|encoding|nvenc|vaapi|amf|quicksync|qsv|videotoolbox|"
                     r"capture|Couldn't open", re.IGNORECASE)
# A client that connected but got no stream.
FAILED_SESSION = re.compile(r"session|ping timeout|failed to (start|launch|initialize)|"
                            r"launch|handshake", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    time: str
    level: str
    message: str

    def public(self) -> dict[str, str]:
        return {"time": self.time, "level": self.level, "message": self.message}


@dataclass
class LogSummary:
    active_sessions: int = 0
    sessions_started: int = 0
    encoder_errors: list[Entry] = field(default_factory=list)
    failed_sessions: list[Entry] = field(default_factory=list)
    errors: list[Entry] = field(default_factory=list)
    version: str = ""


def parse(text: str, keep: int = 20) -> LogSummary:
    summary = LogSummary()
    for raw in text.splitlines():
        match = LINE.match(raw.rstrip())
        if not match:
            continue
        entry = Entry(match["time"], match["level"], match["message"])
        message = entry.message
        if (started := SESSION_STARTED.search(message)) is not None:
            summary.active_sessions = int(started.group(1))
            summary.sessions_started += 1
        elif any(marker in message for marker in SESSION_ENDED):
            summary.active_sessions = max(0, summary.active_sessions - 1)
        elif message.startswith("Sunshine version:"):
            summary.version = message.split(":", 1)[1].strip().split()[0]
        if entry.level in ("Error", "Fatal"):
            summary.errors.append(entry)
            if ENCODER.search(message):
                summary.encoder_errors.append(entry)
            elif FAILED_SESSION.search(message):
                summary.failed_sessions.append(entry)
    for name in ("errors", "encoder_errors", "failed_sessions"):
        setattr(summary, name, getattr(summary, name)[-keep:])
    return summary
