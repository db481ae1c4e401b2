"""The plugin's health checks: `logs.ingest` (is every line getting in?) and one
`logs.<rule>` per alert rule, whose summary carries the matching lines as evidence, so
notify and remediation treat it as any other check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Check, CheckResult, Status
from nebula_logs.coordinator import Logs
from nebula_logs.present import present

EVIDENCE_CHARS = 900

def ingest_check(logs: Logs) -> Check:
    seen = {"refused": 0, "waits": 0}

    async def run() -> CheckResult:
        f = await logs.figures.get(max_age=0)
        refused, waits = f["refused"] - seen["refused"], f["waits"] - seen["waits"]
        seen.update(refused=f["refused"], waits=f["waits"])
        metrics = {k: float(f[k]) for k in ("lines", "bytes", "committed", "queued",
                                            "refused", "waits", "waited_seconds",
                                            "last_commit_ms", "errors")}
        broken = [s for s in logs.sources() if s["state"] == "error"]
        fill = f"queue {f['queued']}/{f['queue_capacity']}"
        if f["errors"] and f["last_error"]:
            return CheckResult(Status.CRITICAL, f"the store failed: {f['last_error']}", metrics)
        if refused:
            return CheckResult(Status.WARNING, f"{refused} lines refused since the last run "
                                               f"(the writer is behind; {fill})", metrics)
        if broken:
            return CheckResult(Status.WARNING, "; ".join(
                f"source {s['name']}: {s['error']}" for s in broken), metrics)
        waited = f" sources waited for room {waits} times;" if waits else ""
        return CheckResult(Status.OK, f"{f['lines']} lines stored ({f['bytes'] / 1e6:.1f} MB);"
                                      f"{waited} {fill}", metrics)

    return Check("ingest", run, "Log ingestion",
                 "Every source's lines reach the store: warning when lines were refused "
                 "(queue full) or a source fails, critical when the store cannot write.",
                 interval=30)

def rule_check(logs: Logs, rule: Mapping[str, Any]) -> Check:
    async def run() -> CheckResult:
        count, lines = await logs.rule_hits(rule["pattern"], rule["window"], rule["source"])
        metrics = {"matches": float(count)}
        window = _span(rule["window"])
        if count < rule["count"]:
            return CheckResult(Status.OK, f"{count} lines match {rule['pattern']!r} in the last "
                                          f"{window} (fires at {rule['count']})", metrics)
        evidence = " | ".join(f"{p['time']} {p['source']}: {p['message']}"
                              for p in (present(line, logs.ctx.redact) for line in lines))
        if len(evidence) > EVIDENCE_CHARS:
            evidence = evidence[:EVIDENCE_CHARS] + "…"
        return CheckResult(Status(rule["status"]),
                           f"{count} lines match {rule['pattern']!r} in the last {window}: "
                           f"{evidence}", metrics)

    return Check(rule["name"], run, f"Log rule {rule['name']}",
                 f"{rule['status']} when at least {rule['count']} lines matching "
                 f"{rule['pattern']!r} arrive within {_span(rule['window'])}.",
                 interval=rule["interval"])

def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"
