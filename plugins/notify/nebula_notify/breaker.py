"""A channel's circuit breaker: once a message fails its retries, the channel is down and
nothing more is sent to it until a probe is due. Each failed probe doubles the wait, from
the reminder timer's interval (a minute by default) up to half an hour, so a service that
stays away costs a handful of connections an hour instead of one per failing check a
minute."""

from __future__ import annotations

from dataclasses import dataclass

CEILING = 1800.0  # longest wait between probes of a channel that stays down


@dataclass
class Breaker:
    base: float  # the first wait after the channel goes down
    ceiling: float = CEILING
    down_since: float | None = None
    failures: int = 0  # failed deliveries since it went down
    retry_at: float = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def due(self, now: float) -> bool:
        """Whether a probe may go out now (only ever while down)."""
        return self.down and now >= self.retry_at

    def failed(self, now: float) -> float:
        """A delivery failed: the channel is down (still, or from now); returns the wait
        before the next probe."""
        if self.down_since is None:
            self.down_since = now
        self.failures += 1
        wait = min(self.ceiling, self.base * 2 ** (self.failures - 1))
        self.retry_at = now + wait
        return wait

    def succeeded(self, now: float) -> float | None:
        """A delivery went through: the channel is up; returns how long it was down, None
        when it was not."""
        since, self.down_since, self.failures, self.retry_at = self.down_since, None, 0, 0.0
        return None if since is None else now - since
