"""What a provider said about one update, in words every provider shares.

Each provider turns its own answer (ZoneEdit's codes, Cloudflare's error objects, DuckDNS's
OK/KO, a DNS rcode) into an `Answer`; the updater acts on the outcome alone: verify in DNS
after a success, back off after a rate limit, pause the account after refused credentials."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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

    @property
    def host_failure(self) -> bool:
        """A failure of this host's update (shown beside its record until one succeeds);
        a rate limit shows as the backoff, refused credentials for the whole account."""
        return self in (Outcome.FAILED, Outcome.UNKNOWN_HOST, Outcome.BAD_REQUEST)


_MEANING = {
    Outcome.UPDATED: "updated",
    Outcome.UNCHANGED: "no change needed",
    Outcome.RATE_LIMITED: "rate-limited by {provider}, backing off",
    Outcome.BAD_AUTH: "{provider} rejected the credentials",
    Outcome.UNKNOWN_HOST: "{provider} does not know this host or zone in this account",
    Outcome.BAD_REQUEST: "{provider} refused the request as malformed",
    Outcome.FAILED: "update failed",
}


@dataclass(frozen=True)
class Answer:
    """What a provider said about one host. `code` is the provider's own (ZoneEdit 708,
    Cloudflare 9109, an HTTP status, a DNS rcode such as "REFUSED"); `meaning` replaces
    the generic wording where the provider knows better what to check."""

    outcome: Outcome
    code: int | str | None
    text: str
    provider: str
    retry_after: float | None = None
    meaning: str | None = None
    # False when DNS cannot show the record (a Cloudflare-proxied name serves Cloudflare's
    # addresses): the provider's own read-back is then the verification.
    dns_verifiable: bool = True

    def describe(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        meaning = self.meaning or _MEANING[self.outcome].format(provider=self.provider)
        return f"{meaning} ({self.provider}{code}: {self.text})"
