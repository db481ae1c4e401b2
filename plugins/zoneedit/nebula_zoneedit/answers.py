"""ZoneEdit's dynamic-update answers, turned into one clear outcome per host.

The body holds pseudo-XML tags, one per host, sometimes several on a line and sometimes with
a surplus trailing SUCCESS tag; so tags are matched with a regex, case-insensitively, and
picked by their HOST attribute (see shared/protocols.md, section 3)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

TAG_RE = re.compile(r"<\s*(SUCCESS|ERROR)\b([^>]*)>", re.I)
ATTR_RE = re.compile(r"([A-Za-z_]+)\s*=\s*\"([^\"]*)\"")
# ZoneEdit's documented floor between two updates of one host.
ZONEEDIT_MIN_INTERVAL = 600.0


class Outcome(str, enum.Enum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RATE_LIMITED = "rate_limited"
    BAD_AUTH = "bad_auth"
    UNKNOWN_HOST = "unknown_host"
    BAD_REQUEST = "bad_request"
    FAILED = "failed"

    @property
    def succeeded(self) -> bool:
        return self in (Outcome.UPDATED, Outcome.UNCHANGED)


@dataclass(frozen=True)
class Answer:
    """What ZoneEdit said about one host."""

    outcome: Outcome
    code: int | None
    text: str
    retry_after: float | None = None

    def describe(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{_MEANING[self.outcome]} (ZoneEdit{code}: {self.text})"


_MEANING = {
    Outcome.UPDATED: "updated",
    Outcome.UNCHANGED: "no change needed",
    Outcome.RATE_LIMITED: "rate-limited by ZoneEdit, backing off",
    Outcome.BAD_AUTH: "ZoneEdit rejected the credentials: check username and the dynamic "
                      "authentication token",
    Outcome.UNKNOWN_HOST: "ZoneEdit does not know this host or zone in this account",
    Outcome.BAD_REQUEST: "ZoneEdit refused the request as malformed",
    Outcome.FAILED: "update failed",
}


@dataclass(frozen=True)
class Tag:
    kind: str  # SUCCESS or ERROR
    attrs: dict[str, str]

    @property
    def code(self) -> int | None:
        try:
            return int(self.attrs.get("CODE", ""))
        except ValueError:
            return None


def tags(body: str) -> list[Tag]:
    return [Tag(kind.upper(), {k.upper(): v for k, v in ATTR_RE.findall(rest)})
            for kind, rest in TAG_RE.findall(body)]


def _pick(found: list[Tag], host: str) -> Tag | None:
    host = host.lower().rstrip(".")
    for tag in found:
        if tag.attrs.get("HOST", "").lower().rstrip(".") == host:
            return tag
    # Account-wide answers (702, 708) carry no HOST; a surplus SUCCESS never outranks them.
    return next((t for t in found if "HOST" not in t.attrs and t.kind == "ERROR"),
                found[0] if found else None)


def classify(tag: Tag, min_interval: float) -> Answer:
    code, text = tag.code, tag.attrs.get("TEXT", "")
    if tag.kind == "SUCCESS":
        return Answer(Outcome.UNCHANGED if code == 201 else Outcome.UPDATED, code, text)
    if code == 700:
        return Answer(Outcome.UNCHANGED, code, text)
    if code == 707:
        # One code, two meanings, told apart only by the text.
        if "duplicate" in text.lower():
            return Answer(Outcome.UNCHANGED, code, text)
        return Answer(Outcome.RATE_LIMITED, code, text, max(min_interval, ZONEEDIT_MIN_INTERVAL))
    if code == 702:
        try:
            wait = float(tag.attrs.get("PARAM", ""))
        except ValueError:
            wait = ZONEEDIT_MIN_INTERVAL
        return Answer(Outcome.RATE_LIMITED, code, text, max(wait, min_interval))
    if code == 708:
        return Answer(Outcome.BAD_AUTH, code, text)
    if code in (701, 709):
        return Answer(Outcome.UNKNOWN_HOST, code, text)
    if code in (703, 704, 705):
        return Answer(Outcome.BAD_REQUEST, code, text)
    return Answer(Outcome.FAILED, code, text or "unrecognised error")


def parse(status: int, body: str, host: str, min_interval: float) -> Answer:
    """The answer for `host` from one HTTP response of the update endpoint."""
    if status == 401:
        return Answer(Outcome.BAD_AUTH, 401, "HTTP 401 Authentication Failed")
    if status == 429:
        return Answer(Outcome.RATE_LIMITED, 429, "HTTP 429 Too Many Requests",
                      max(min_interval, ZONEEDIT_MIN_INTERVAL))
    if status != 200:
        return Answer(Outcome.FAILED, status, f"HTTP {status}")
    tag = _pick(tags(body), host)
    if tag is None:
        snippet = " ".join(body.split())[:120]
        return Answer(Outcome.FAILED, None, f"unrecognised answer: {snippet!r}")
    return classify(tag, min_interval)
