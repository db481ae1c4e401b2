"""A snapshot as plain JSON rows, with the fields that declare them. Panels and Jarvis tools
both serve these, so the dashboard and the model see the same keys and units."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nebula.api import Field
from nebula_plex.coordinator import Point
from nebula_plex.model import Snapshot

SERVER_FIELDS = (
    Field("name", "Server", "", "The server's friendly name."),
    Field("version", "Version", "", "Plex Media Server version."),
    Field("update", "Update", "", "Newer version the server offers (empty when current), "
                                  "or why it could not be read."),
    Field("platform", "Platform", "", "Operating system the server runs on."),
    Field("machine_identifier", "Machine id", "", "The server's unique identifier."),
    Field("latency_ms", "Latency", "ms", "Time /identity took to answer."),
    Field("sessions", "Sessions", "", "Streams playing now."),
    Field("transcodes", "Transcodes", "", "Streams being transcoded now."),
    Field("bandwidth_kbps", "Bandwidth", "kbps", "Total bandwidth of all streams."),
    Field("polled_at", "Polled", "s", "Epoch seconds of the poll shown."),
    Field("error", "Error", "", "Why the last poll failed, or which parts of it did."),
)

SESSION_FIELDS = (
    Field("user", "User", "", "Plex account watching."),
    Field("title", "Title", "", "What is playing (show — SxxEyy · episode for TV)."),
    Field("type", "Type", "", "movie, episode, track, ..."),
    Field("player", "Player", "", "The device playing it."),
    Field("product", "App", "", "The Plex app on that device."),
    Field("state", "State", "", "playing, paused or buffering."),
    Field("decision", "Stream", "", "direct play, direct stream or transcode."),
    Field("bandwidth_kbps", "Bandwidth", "kbps", "Bandwidth the stream uses."),
    Field("location", "Network", "", "lan or wan."),
    Field("progress", "Progress", "%", "How far into the item."),
    Field("session", "Session", "", "The session's key on the server."),
)

LIBRARY_FIELDS = (
    Field("title", "Library", "", "The library's name."),
    Field("key", "Key", "", "Section key (what plex.scan_library also accepts)."),
    Field("type", "Type", "", "movie, show, artist or photo."),
    Field("items", "Items", "", "Movies, shows, artists or photos in it."),
    Field("episodes", "Episodes", "", "Episodes, for TV libraries."),
    Field("tracks", "Tracks", "", "Tracks, for music libraries."),
    Field("scanned_at", "Last scan", "s", "Epoch seconds of the last scan."),
    Field("scanning", "Scanning", "", "A scan is running now."),
    Field("locations", "Folders", "", "Folders the library reads."),
)

RECENT_FIELDS = (
    Field("title", "Title", "", "What was added."),
    Field("type", "Type", "", "movie, episode, season, album, ..."),
    Field("library", "Library", "", "The library it landed in."),
    Field("added_at", "Added", "s", "Epoch seconds it was added."),
)

STREAM_FIELDS = (
    Field("t", "Time", "s", "Epoch seconds of the poll."),
    Field("sessions", "Sessions", "", "Streams playing."),
    Field("transcodes", "Transcodes", "", "Streams being transcoded."),
    Field("bandwidth_kbps", "Bandwidth", "kbps", "Total bandwidth of all streams."),
)


def server(snap: Snapshot) -> dict[str, Any]:
    srv = snap.server
    return {
        "name": srv.name if srv else None,
        "version": snap.version or (srv.version if srv else None),
        "update": snap.update.version if snap.update else
        f"unknown: {snap.update_error}" if snap.update_error else None,
        "platform": srv.platform if srv else None,
        "machine_identifier": snap.machine_identifier,
        "latency_ms": snap.latency_ms,
        "sessions": len(snap.sessions) if snap.complete else None,
        "transcodes": len(snap.transcodes) if snap.complete else None,
        "bandwidth_kbps": sum(s.bandwidth_kbps for s in snap.sessions) if snap.complete
        else None,
        "polled_at": round(snap.taken, 3),
        "error": str(snap.error) if snap.error else "; ".join(snap.problems) or None,
    }


def sessions(snap: Snapshot) -> list[dict[str, Any]]:
    return [s.public() for s in snap.sessions]


def libraries(snap: Snapshot) -> list[dict[str, Any]]:
    return [lib.public() for lib in snap.libraries]


def recent(snap: Snapshot, limit: int | None = None) -> list[dict[str, Any]]:
    return list(snap.recent[:limit])


def streams(points: Iterable[Point]) -> list[dict[str, Any]]:
    return [{"t": p.t, "sessions": p.sessions, "transcodes": p.transcodes,
             "bandwidth_kbps": p.bandwidth_kbps} for p in points]


def unavailable(snap: Snapshot) -> dict[str, Any] | None:
    """What a Jarvis tool answers instead of data when the poll failed."""
    if snap.complete:
        return None
    return {"error": str(snap.error), "polled_at": snap.taken}
