"""What can go wrong talking to Google, as exceptions whose text tells the owner what to do."""

from __future__ import annotations

RECONNECT = "run the google.connect action again (nebula action run google.connect)"


class GoogleError(Exception):
    """Any failure reaching or using Google; the message is meant for the owner."""


class Unreachable(GoogleError):
    """No answer: wrong URL, network down, or a timeout."""


class NotConnected(GoogleError):
    def __init__(self) -> None:
        super().__init__(f"Google is not connected: {RECONNECT}")


class OAuthError(GoogleError):
    """An `{"error": ..., "error_description": ...}` answer from an OAuth endpoint."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        self.status, self.error, self.description = status, error, description
        super().__init__(f"{error}: {description}" if description else error)


class Revoked(GoogleError):
    """The refresh token is no longer valid (invalid_grant): only new consent helps."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(f"Google refused the refresh token (invalid_grant: {description}); "
                         f"access was revoked or has expired: {RECONNECT}")


class ApiError(GoogleError):
    """A Google API answered with an error body `{"error": {"code", "message", ...}}`."""

    def __init__(self, service: str, status: int, message: str, reason: str = "") -> None:
        self.status, self.reason = status, reason
        super().__init__(f"{service} answered {status}"
                         + (f" ({reason})" if reason else "") + f": {message}")
