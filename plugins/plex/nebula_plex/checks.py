"""The health checks, as pure functions of one snapshot and the plugin's config."""

from __future__ import annotations

from nebula.api import CheckResult, Status
from nebula.helpers.checks import CheckSpec, Config
from nebula_plex.model import DIRECT_PLAY, DIRECT_STREAM, Snapshot


def reachable(snap: Snapshot, config: Config) -> CheckResult:
    if snap.unreachable:
        return CheckResult(Status.CRITICAL, f"Plex unreachable: {snap.error}",
                           {"reachable": 0.0})
    name = snap.server.name if snap.server and snap.server.name else "Plex Media Server"
    summary = f"{name} {snap.version} answers in {snap.latency_ms:g} ms"
    if snap.update:
        summary += f"; update {snap.update.version} available"
    return CheckResult(Status.OK, summary, {
        "reachable": 1.0, "latency_ms": snap.latency_ms or 0.0,
        "update_available": float(snap.update is not None)})


def token(snap: Snapshot, config: Config) -> CheckResult:
    if snap.unreachable:
        return CheckResult(Status.UNKNOWN, f"cannot check the token: Plex unreachable: "
                                           f"{snap.error}")
    if snap.token_rejected:
        return CheckResult(Status.CRITICAL, str(snap.error))
    if snap.error:
        return CheckResult(Status.WARNING, f"the token was not refused, but Plex failed: "
                                           f"{snap.error}")
    name = snap.server.name if snap.server else ""
    return CheckResult(Status.OK, f"token accepted by {name or 'the server'}")


def transcodes(snap: Snapshot, config: Config) -> CheckResult:
    if not snap.complete:
        return CheckResult(Status.UNKNOWN, f"no session data: {snap.error}")
    limit = config["max_transcodes"]
    sessions, busy = snap.sessions, snap.transcodes
    bandwidth = sum(s.bandwidth_kbps for s in sessions)
    metrics = {
        "sessions": float(len(sessions)), "transcodes": float(len(busy)),
        "direct_play": float(sum(s.decision == DIRECT_PLAY for s in sessions)),
        "direct_stream": float(sum(s.decision == DIRECT_STREAM for s in sessions)),
        "bandwidth_kbps": float(bandwidth),
        "wan_sessions": float(sum(s.location == "wan" for s in sessions)),
    }
    streams = f"{len(sessions)} session{'s' * (len(sessions) != 1)}, {bandwidth / 1000:g} Mbps"
    if len(busy) > limit:
        who = "; ".join(f"{s.user}: {s.title} on {s.player}" for s in busy)
        return CheckResult(Status.WARNING, f"{len(busy)} transcodes, more than {limit} "
                                           f"({streams}): {who}", metrics)
    return CheckResult(Status.OK, f"{len(busy)} transcode{'s' * (len(busy) != 1)} "
                                  f"(limit {limit}); {streams}", metrics)


CHECKS: tuple[CheckSpec[Snapshot], ...] = (
    CheckSpec("reachable", "Plex reachable",
              "The server answers /identity (no token needed); shows its version and whether "
              "an update is available.", reachable),
    CheckSpec("token", "Plex token valid",
              "The server accepts the configured X-Plex-Token (HTTP 401 is critical).", token),
    CheckSpec("transcodes", "Plex transcodes",
              "Sessions being transcoded, against max_transcodes; metrics for every session "
              "(direct play, direct stream, transcode, bandwidth).", transcodes),
)
