"""The checks, as pure functions of one snapshot and the plugin's config."""

from __future__ import annotations

from nebula.api import CheckResult, Status
from nebula.helpers.checks import CheckSpec, Config
from nebula.helpers.net import FailureKind
from nebula_sunshine.client import PinMismatch
from nebula_sunshine.coordinator import Snapshot


def api(snap: Snapshot, config: Config) -> CheckResult:
    error = snap.error
    if error is None:
        return CheckResult(Status.OK, f"Sunshine {snap.version} ({snap.platform}) answers in "
                                      f"{snap.latency_ms:g} ms; {len(snap.apps)} apps, "
                                      f"{len(snap.clients)} paired clients",
                           {"reachable": 1.0, "authenticated": 1.0, "certificate_ok": 1.0,
                            "latency_ms": snap.latency_ms or 0.0})
    if isinstance(error, PinMismatch):
        return CheckResult(Status.CRITICAL, f"certificate mismatch: {error}",
                           {"reachable": 1.0, "certificate_ok": 0.0})
    if error.kind.unreachable:
        return CheckResult(Status.CRITICAL, f"Sunshine is down: {error}", {"reachable": 0.0})
    if error.kind is FailureKind.AUTH:
        return CheckResult(Status.CRITICAL, f"bad credentials: {error}",
                           {"reachable": 1.0, "authenticated": 0.0, "certificate_ok": 1.0})
    return CheckResult(Status.CRITICAL, f"Sunshine failed: {error}", {"reachable": 1.0})


def streaming(snap: Snapshot, config: Config) -> CheckResult:
    if snap.error:
        return CheckResult(Status.UNKNOWN, f"no data: {snap.error}")
    n = snap.log.active_sessions
    metrics = {"active_sessions": float(n), "sessions_started": float(snap.log.sessions_started)}
    if n:
        return CheckResult(Status.OK, f"streaming: {n} active session{'s' * (n != 1)}", metrics)
    return CheckResult(Status.OK, "idle: nobody is streaming", metrics)


def log_errors(snap: Snapshot, config: Config) -> CheckResult:
    if snap.error:
        return CheckResult(Status.UNKNOWN, f"no log: {snap.error}")
    log = snap.log
    metrics = {"encoder_errors": float(len(log.encoder_errors)),
               "failed_sessions": float(len(log.failed_sessions)),
               "errors": float(len(log.errors))}
    problems = []
    if log.encoder_errors:
        problems.append(f"{len(log.encoder_errors)} encoder errors (last: "
                        f"{log.encoder_errors[-1].message})")
    if log.failed_sessions:
        problems.append(f"{len(log.failed_sessions)} failed sessions (last: "
                        f"{log.failed_sessions[-1].message})")
    if problems:
        return CheckResult(Status.WARNING, "; ".join(problems), metrics)
    return CheckResult(Status.OK, f"no encoder errors or failed sessions "
                                  f"({len(log.errors)} other errors)", metrics)


def host(snap: Snapshot, config: Config) -> CheckResult:
    ready = snap.host
    if ready is None:
        return CheckResult(Status.UNKNOWN, "Sunshine does not run on this host (local = false)")
    problems, parts = [], []
    if ready.gpus:
        parts.append(", ".join(
            f"{g.vendor} {g.name}" + (f" (load {g.load_percent:g}%)"
                                      if g.load_percent is not None else "")
            for g in ready.gpus))
    else:
        problems.append(f"no GPU found ({ready.gpu_source}): Sunshine would encode in software")
    if ready.uinput == "ok":
        parts.append("uinput writable")
    else:
        problems.append(f"uinput {config['uinput']} {ready.uinput}: clients' input cannot "
                        "be injected")
    if snap.error is None and ready.missing.get("tcp"):
        problems.append(f"Sunshine answers but TCP ports {ready.missing['tcp']} are not "
                        "listening")
    elif ready.listening.get("tcp"):
        parts.append(f"TCP {ready.listening['tcp']} listening")
    metrics = {"gpus": float(len(ready.gpus)), "uinput_ok": float(ready.uinput == "ok"),
               "tcp_listening": float(len(ready.listening.get("tcp", [])))}
    loads = [g.load_percent for g in ready.gpus if g.load_percent is not None]
    if loads:
        metrics["gpu_load_percent"] = max(loads)
    if problems:
        return CheckResult(Status.WARNING, "; ".join(problems + parts), metrics)
    return CheckResult(Status.OK, "; ".join(parts), metrics)


CHECKS: tuple[CheckSpec[Snapshot], ...] = (
    CheckSpec("api", "Sunshine web API", "Reachable over HTTPS with the pinned certificate "
              "and the admin credentials (down, bad credentials and a changed certificate "
              "are told apart).", api),
    CheckSpec("streaming", "Sunshine streaming", "Streaming or idle, from the sessions its "
              "log reports.", streaming),
    CheckSpec("log_errors", "Sunshine log errors", "Encoder errors and failed sessions in "
              "the running instance's log.", log_errors),
    CheckSpec("host", "Streaming host readiness", "A GPU (nvidia-smi or /sys/class/drm), "
              "uinput access and Sunshine's ports listening.", host),
)
