"""Secret values the agent knows, and the one place that scrubs them from output.

Every secret read from config (env, `*_file`, or a secret-named key) is registered here;
logs, API answers, audit rows and anything sent to a model pass through `redact`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
SECRET_KEY_RE = re.compile(r"(pass(word)?|secret|token|api_?key|credential|private_?key)", re.I)
# Short values would turn redaction into noise (every "1" masked); real secrets are longer.
_MIN_SECRET_LEN = 4


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key))


class Secrets:
    def __init__(self, min_length: int = _MIN_SECRET_LEN) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._min_length = min_length

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= self._min_length and value not in self._values:
            self._values.add(value)
            longest_first = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, longest_first)))

    @property
    def longest(self) -> int:
        """Length of the longest known secret (what a stream must hold back to catch one)."""
        return max((len(v.encode()) for v in self._values), default=0)

    def matches(self, text: str) -> list[re.Match[str]]:
        """Where known secrets occur in `text`."""
        return list(self._pattern.finditer(text)) if self._pattern else []

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def redact(self, value: Any) -> Any:
        """A copy of `value` with every known secret masked, and every secret-named key's
        value masked, through nested dicts, lists and strings."""
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._pattern.sub(MASK, value) if self._pattern else value
        if isinstance(value, Mapping):
            return {
                self.redact(k): (MASK if isinstance(k, str) and is_secret_key(k)
                                 and v not in (None, "") else self.redact(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(v) for v in value]
        # Anything else (an exception in a log field, say) is printed later with str() or
        # repr(); if either would show a secret, it becomes its masked text now.
        if self._pattern and (self._pattern.search(str(value))
                              or self._pattern.search(repr(value))):
            return self.redact(str(value))
        return value


class StreamRedactor:
    """Masks known secrets in a byte stream cut into arbitrary chunks (a log follow, a
    proxied download): a secret split across two chunks is still caught, because the bytes
    after the last newline wait for the next chunk. Past `hold` bytes without a newline the
    start goes out, never cutting through a secret: what stays back is at least as long as
    the longest secret, and the cut moves past any secret that straddles it.

        redactor = StreamRedactor()
        for chunk in chunks: await response.write(redactor.feed(chunk))
        await response.write(redactor.flush())
    """

    def __init__(self, secrets: Secrets | None = None, hold: int = 65536) -> None:
        self._secrets = secrets or SECRETS
        self._hold = hold
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) > self._hold:
            return self._release_without_newline(data)
        self._pending = data[cut:]
        return _mask_bytes(self._secrets, data[:cut])

    def _release_without_newline(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "surrogateescape")
        cut = max(0, len(text) - self._secrets.longest)
        for match in self._secrets.matches(text):
            if match.start() < cut < match.end():
                cut = match.end()
        self._pending = text[cut:].encode("utf-8", "surrogateescape")
        return _mask_bytes(self._secrets, text[:cut].encode("utf-8", "surrogateescape"))

    def flush(self) -> bytes:
        data, self._pending = self._pending, b""
        return _mask_bytes(self._secrets, data)


def _mask_bytes(secrets: Secrets, data: bytes) -> bytes:
    return secrets.redact(data.decode("utf-8", "surrogateescape")).encode(
        "utf-8", "surrogateescape")


# One per process: log processors run outside any agent object, and a secret seen by
# one agent instance in a process must stay masked for every logger in it.
SECRETS = Secrets()
