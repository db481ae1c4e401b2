"""The one-time setup code that lets the first admin be created in the browser.

While nobody can sign in, a serving agent (`nebula run`, not the CLI's one-shot agent:
the code is made by a scheduled job, and only a serving agent runs its jobs) makes a random
code of 80 bits and logs it once with the panel's address; `/setup` takes it. Only its
SHA-256 is kept, and only in memory: a restart makes a new one, and neither the store nor
its WAL ever holds it. A code lapses when a user exists, or after `SETUP_CODE_TTL`, when
the job makes (and logs) the next one. A plain hash is enough: 80 random bits cannot be
found from their digest, and wrong codes are counted like failed sign-ins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

SETUP_CODE_TTL = 24 * 3600.0
CODE_BYTES = 10  # 80 bits: 16 base32 characters, shown in groups of four
# The name wrong codes are counted under in the failed-login log: no user can have it
# (names are letters, digits and `_.@-`), and one count for all callers makes "too many
# wrong codes" a lockout of /setup, not of one address only.
SETUP_NAME = "(setup code)"


def _digest(code: str) -> str:
    """Typed as shown or not: spaces, dashes and case do not matter."""
    bare = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(bare.encode()).hexdigest()


class SetupCode:
    def __init__(self) -> None:
        self._digest: str | None = None
        self._expires = 0.0
        # Wall-clock seconds; replaceable so a test can let the code lapse without waiting.
        self.clock: Callable[[], float] = time.time

    def issue(self) -> str:
        """A new code, replacing any earlier one; the caller shows it, once."""
        text = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()
        code = "-".join(text[i:i + 4] for i in range(0, len(text), 4))
        self._digest, self._expires = _digest(code), self.clock() + SETUP_CODE_TTL
        return code

    @property
    def active(self) -> bool:
        return self._digest is not None and self.clock() < self._expires

    def matches(self, code: str) -> bool:
        """Whether `code` is the active code. A caller using it up forgets it before its
        next await, so of two requests racing with it only one wins."""
        if not self.active or self._digest is None:
            return False
        return hmac.compare_digest(_digest(code), self._digest)

    def forget(self) -> None:
        self._digest = None
