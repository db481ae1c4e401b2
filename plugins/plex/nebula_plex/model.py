"""One poll of the server as plain frozen values, parsed from PMS's JSON MediaContainers.

PMS leaves out keys freely (an idle server's `/status/sessions` has no `Metadata` at all)
and writes booleans as `1`/`0`, `"1"`/`"0"` or JSON booleans, so every read is tolerant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.helpers.net import FailureKind
from nebula_plex.client import PlexError

DIRECT_PLAY, DIRECT_STREAM, TRANSCODE = "direct play", "direct stream", "transcode"
# `/library/sections/{key}/all?type=N` counts the leaves of a library whose top level are
# containers (shows, artists); python-plexapi's search types.
LEAF_TYPES = {"show": (4, "episodes"), "artist": (10, "tracks")}


def _bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first(items: Any) -> Mapping[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def display_title(item: Mapping[str, Any]) -> str:
    """"Show — S01E02 · Title" for episodes, "Artist — Title" for tracks, the title else."""
    title = str(item.get("title", "?"))
    kind = item.get("type")
    if kind == "episode":
        season, episode = _int(item.get("parentIndex")), _int(item.get("index"))
        number = f"S{season:02d}E{episode:02d} · " if season is not None and episode is not \
            None else ""
        return f"{item.get('grandparentTitle', '?')} — {number}{title}"
    if kind == "track":
        return f"{item.get('grandparentTitle', '?')} — {title}"
    if kind == "season":
        return f"{item.get('parentTitle', '?')} — {title}"
    year = item.get("year")
    return f"{title} ({year})" if kind == "movie" and year else title


@dataclass(frozen=True)
class Session:
    key: str
    user: str
    title: str
    kind: str
    player: str
    product: str
    state: str  # playing, paused or buffering
    decision: str  # direct play, direct stream or transcode
    bandwidth_kbps: int
    location: str  # lan or wan
    progress: float | None  # percent

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> Session:
        player, user, session = (item.get(k) or {} for k in ("Player", "User", "Session"))
        duration, offset = _int(item.get("duration")), _int(item.get("viewOffset"))
        progress = round(100 * offset / duration, 1) if duration and offset is not None \
            else None
        return cls(
            key=str(item.get("sessionKey") or session.get("id") or item.get("ratingKey")),
            user=str(user.get("title", "?")), title=display_title(item),
            kind=str(item.get("type", "")), player=str(player.get("title", "?")),
            product=str(player.get("product", "")), state=str(player.get("state", "")),
            decision=decision(item), bandwidth_kbps=_int(session.get("bandwidth")) or 0,
            location=str(session.get("location", "")), progress=progress)

    def public(self) -> dict[str, Any]:
        return {"session": self.key, "user": self.user, "title": self.title, "type": self.kind,
                "player": self.player, "product": self.product, "state": self.state,
                "decision": self.decision, "bandwidth_kbps": self.bandwidth_kbps,
                "location": self.location, "progress": self.progress}


def decision(item: Mapping[str, Any]) -> str:
    """How PMS serves a session: a `TranscodeSession` that transcodes video or audio is a
    transcode, one that only copies streams into a new container is a direct stream;
    without one, the part's own decision says (directplay when absent)."""
    transcode = item.get("TranscodeSession")
    if isinstance(transcode, dict):
        if "transcode" in (transcode.get("videoDecision"), transcode.get("audioDecision")):
            return TRANSCODE
        return DIRECT_STREAM
    part = _first(_first(item.get("Media")).get("Part"))
    return {"transcode": TRANSCODE, "copy": DIRECT_STREAM,
            "directstream": DIRECT_STREAM}.get(str(part.get("decision", "")), DIRECT_PLAY)


@dataclass(frozen=True)
class Library:
    key: str
    title: str
    kind: str
    items: int | None
    leaves: int | None  # episodes or tracks, where the library has them
    leaf_name: str | None
    scanned_at: int | None  # epoch seconds of the last scan
    refreshing: bool
    locations: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "type": self.kind, "items": self.items,
                "episodes": self.leaves if self.leaf_name == "episodes" else None,
                "tracks": self.leaves if self.leaf_name == "tracks" else None,
                "scanned_at": self.scanned_at, "scanning": self.refreshing,
                "locations": ", ".join(self.locations)}


def parse_library(directory: Mapping[str, Any], items: int | None,
                  leaves: int | None) -> Library:
    kind = str(directory.get("type", ""))
    return Library(
        key=str(directory.get("key")), title=str(directory.get("title", "?")), kind=kind,
        items=items, leaves=leaves, leaf_name=LEAF_TYPES.get(kind, (None, None))[1],
        scanned_at=_int(directory.get("scannedAt")), refreshing=_bool(directory.get("refreshing")),
        locations=tuple(str(loc.get("path")) for loc in directory.get("Location") or ()
                        if isinstance(loc, dict)))


def recent_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"title": display_title(item), "type": item.get("type"),
            "library": item.get("librarySectionTitle"), "added_at": _int(item.get("addedAt"))}


@dataclass(frozen=True)
class Release:
    version: str

    @classmethod
    def first(cls, container: Mapping[str, Any]) -> Release | None:
        """The newest release `/updater/status` offers; None when the server is current."""
        release = _first(container.get("Release"))
        return cls(str(release["version"])) if release.get("version") else None


@dataclass(frozen=True)
class Server:
    name: str
    version: str
    platform: str
    machine_identifier: str
    transcoder_active: int

    @classmethod
    def parse(cls, container: Mapping[str, Any]) -> Server:
        platform = " ".join(str(container[k]) for k in ("platform", "platformVersion")
                            if container.get(k))
        return cls(str(container.get("friendlyName", "")), str(container.get("version", "")),
                   platform, str(container.get("machineIdentifier", "")),
                   _int(container.get("transcoderActiveVideoSessions")) or 0)


@dataclass(frozen=True)
class Snapshot:
    """What one poll learnt. `error` is set when the poll stopped early: the server could
    not be reached, or refused the token; what came before it is kept."""

    taken: float
    latency_ms: float | None = None
    version: str | None = None  # from /identity, which needs no token
    machine_identifier: str | None = None
    server: Server | None = None
    sessions: tuple[Session, ...] = ()
    libraries: tuple[Library, ...] = ()
    recent: tuple[dict[str, Any], ...] = ()
    update: Release | None = None
    update_error: str | None = None
    error: PlexError | None = None
    problems: tuple[str, ...] = field(default=())  # parts that failed without stopping it

    @property
    def unreachable(self) -> bool:
        """Nothing usable came back: /identity failed, or the server went away mid-poll."""
        return self.version is None or (self.error is not None
                                        and self.error.kind.unreachable)

    @property
    def token_rejected(self) -> bool:
        return self.error is not None and self.error.kind is FailureKind.AUTH

    @property
    def complete(self) -> bool:
        return self.error is None

    @property
    def transcodes(self) -> list[Session]:
        return [s for s in self.sessions if s.decision == TRANSCODE]
