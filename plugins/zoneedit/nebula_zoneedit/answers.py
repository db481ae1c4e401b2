"""ZoneEdit's dynamic-update answers, turned into one clear outcome per host.

The body holds pseudo-XML tags, one per host, sometimes several on a line and sometimes with
a surplus trailing SUCCESS tag; so tags are matched with a regex, case-insensitively, and
picked by their HOST attribute (see shared/protocols.md, section 3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nebula.helpers.ddns.outcome import Answer, Outcome

TAG_RE = re.compile(r"<\s*(SUCCESS|ERROR)\b([^>]*)>", re.I)
ATTR_RE = re.compile(r"([A-Za-z_]+)\s*=\s*\"([^\"]*)\"")
# ZoneEdit's documented floor between two updates of one host.
ZONEEDIT_MIN_INTERVAL = 600.0


BAD_AUTH_MEANING = ("ZoneEdit rejected the credentials: check username and the dynamic "
                    "authentication token")


def _answer(outcome: Outcome, code: int | None, text: str,
            retry_after: float | None = None) -> Answer:
    meaning = BAD_AUTH_MEANING if outcome is Outcome.BAD_AUTH else None
    return Answer(outcome, code, text, "ZoneEdit", retry_after, meaning)


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
        return _answer(Outcome.UNCHANGED if code == 201 else Outcome.UPDATED, code, text)
    if code == 700:
        return _answer(Outcome.UNCHANGED, code, text)
    if code == 707:
        # One code, two meanings, told apart only by the text.
        if "duplicate" in text.lower():
            return _answer(Outcome.UNCHANGED, code, text)
        return _answer(Outcome.RATE_LIMITED, code, text, max(min_interval, ZONEEDIT_MIN_INTERVAL))
    if code == 702:
        try:
            wait = float(tag.attrs.get("PARAM", ""))
        except ValueError:
            wait = ZONEEDIT_MIN_INTERVAL
        return _answer(Outcome.RATE_LIMITED, code, text, max(wait, min_interval))
    if code == 708:
        return _answer(Outcome.BAD_AUTH, code, text)
    if code in (701, 709):
        return _answer(Outcome.UNKNOWN_HOST, code, text)
    if code in (703, 704, 705):
        return _answer(Outcome.BAD_REQUEST, code, text)
    return _answer(Outcome.FAILED, code, text or "unrecognised error")


def parse(status: int, body: str, host: str, min_interval: float) -> Answer:
    """The answer for `host` from one HTTP response of the update endpoint."""
    if status == 401:
        return _answer(Outcome.BAD_AUTH, 401, "HTTP 401 Authentication Failed")
    if status == 429:
        return _answer(Outcome.RATE_LIMITED, 429, "HTTP 429 Too Many Requests",
                      max(min_interval, ZONEEDIT_MIN_INTERVAL))
    if status != 200:
        return _answer(Outcome.FAILED, status, f"HTTP {status}")
    tag = _pick(tags(body), host)
    if tag is None:
        snippet = " ".join(body.split())[:120]
        return _answer(Outcome.FAILED, None, f"unrecognised answer: {snippet!r}")
    return classify(tag, min_interval)
